"""The "fits the screen" rules, checked on a live widget tree: what a learner would see cut, hidden or squeezed.

Each rule walks the visible widgets of a window (or any widget) and returns
:class:`Violation` records instead of asserting, so one run can list every
problem of every preset and tab at once. The rules look only at what Qt laid
out (geometry, size hints, scroll bars, pyqtgraph items), never at how a view
is built, so any view or panel added later is held to them too:

- ``window_min_size``: the window's minimum size fits the available screen;
- ``off_screen``: the window lies inside the available screen;
- ``tab_scroll``: no tab bar shows scroll arrows (a tab would be hidden);
- ``cut_text``: a label, button, check box, radio button or combo box is
  drawn smaller than its text (an eliding label counts only if its tool tip
  lacks the text; a combo box that elides is fine);
- ``below_minimum``: a widget in a layout is squeezed below its minimum size
  (whatever it draws is clipped);
- ``overlap``: two widgets of one layout are drawn over each other;
- ``dock_squeezed`` / ``scrolls_sideways``: a dock is forced below its minimum,
  or a scroll area (in a dock or a view) scrolls sideways;
- ``plot_small`` / ``largest_plot``: no plot area under the floor on a side,
  and the largest plot of a tab at least the screen size's target;
- ``cut_plot_text``: a plot title, axis label or text item does not fit its
  room or lies outside the canvas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QToolButton,
    QWidget,
)

import pyqtgraph as pg

SLACK = 1  # px: rounding between size hints and geometry
MIN_PLOT_SIDE = 48  # px: no plot area is squeezed below this on a side
TEXT_MARGIN = 4  # px: the margin pyqtgraph's text items keep round their glyphs
PUSH_BUTTON_FRAME = 8  # px: a push button's frame and bevel around its text


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (preset, tab, widget path), which rule, and the sizes that break it."""

    rule: str
    widget: str
    sizes: str
    preset: str = ""
    tab: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"[{self.preset} / {self.tab}] {self.rule}: {self.widget} ({self.sizes})"


def describe(widget: QWidget) -> str:
    """A readable path to a widget: class names and object names or texts from the window down."""
    parts: list[str] = []
    w: QWidget | None = widget
    while w is not None and len(parts) < 7:
        name = type(w).__name__
        text = w.objectName() or _short_text(w)
        parts.append(f"{name}({text})" if text else name)
        if w.isWindow():
            break
        w = w.parentWidget()
    return " < ".join(parts)


def _short_text(widget: QWidget) -> str:
    text = ""
    if isinstance(widget, (QLabel, QAbstractButton)):
        text = widget.text()
    elif isinstance(widget, QDockWidget):
        text = widget.windowTitle()
    text = " ".join(text.split())
    return text[:40] + ("…" if len(text) > 40 else "")


def shown(widget: QWidget) -> bool:
    """Visible on screen: shown, with an area, and (inside a scroll area) not wholly scrolled away.

    ``visibleRegion()`` will not do: it leaves out what opaque children cover, and a
    scroll area is wholly covered by its viewport.
    """
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    rect = widget.rect()
    w = widget
    while not w.isWindow():
        rect = rect.translated(w.pos()).intersected(w.parentWidget().rect())
        if rect.isEmpty():
            return False
        w = w.parentWidget()
    return True


def visible_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if shown(w) and not (w.isWindow() and w is not root)]


# -- window-level rules ----------------------------------------------------------------------------------
def check_window_fits(window: QWidget, available: QRect, max_min_size: QSize | None = None) -> list[Violation]:
    """The window's minimum size and its geometry fit ``available`` (the screen minus panels)."""
    out = []
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    limit = max_min_size or available.size()
    if hint.width() > limit.width() or hint.height() > limit.height():
        out.append(Violation("window_min_size", describe(window),
                             f"minimum {hint.width()}x{hint.height()} > {limit.width()}x{limit.height()}"))
    frame = window.frameGeometry()
    if not available.contains(frame):
        out.append(Violation("off_screen", describe(window),
                             f"frame {_rect(frame)} not inside available {_rect(available)}"))
    return out


# -- widget rules ---------------------------------------------------------------------------------------------
def check_tab_bars(widgets: list[QWidget]) -> list[Violation]:
    """No tab bar hides a tab behind scroll arrows, and every tab lies inside its bar."""
    out = []
    for bar in (w for w in widgets if isinstance(w, QTabBar)):
        arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]
        if arrows:
            out.append(Violation("tab_scroll", describe(bar),
                                 f"bar {bar.width()}px needs {bar.sizeHint().width()}px for {bar.count()} tabs"))
            continue
        for i in range(bar.count()):  # along the bar: a tab past its end is hidden (its height may overhang)
            tab = bar.tabRect(i)
            along = (tab.left(), tab.right()) if bar.width() >= bar.height() else (tab.top(), tab.bottom())
            end = bar.width() if bar.width() >= bar.height() else bar.height()
            if bar.isTabVisible(i) and (along[0] < 0 or along[1] >= end + SLACK):
                out.append(Violation("tab_scroll", f"{describe(bar)} tab {bar.tabText(i)!r}",
                                     f"tab {_rect(bar.tabRect(i))} outside bar {_rect(bar.rect())}"))
    return out


def label_cut(label: QLabel) -> str | None:
    """Why a label's text does not fit its geometry, or None when it fits (or elides with a full tool tip)."""
    text = label.text()
    if not text.strip() and label.pixmap().isNull():
        return None
    full = label.property("full_text")  # an eliding label keeps its whole text here and in its tool tip
    if full is not None:
        if label.text() != full and full not in label.toolTip():
            return f"elided to {label.text()!r} without the full text in its tool tip"
        return None
    rect = label.contentsRect()
    if label.wordWrap():
        need = label.heightForWidth(label.width())
        if need > label.height() + SLACK:
            return f"wrapped text needs {label.width()}x{need}, has {label.width()}x{label.height()}"
        return None
    need = label.sizeHint()
    if need.width() > label.width() + SLACK or need.height() > label.height() + SLACK:
        return f"text needs {need.width()}x{need.height()}, has {label.width()}x{label.height()}"
    del rect
    return None


def button_cut(button: QAbstractButton) -> str | None:
    """Why a button's text does not fit (push buttons, check boxes, radio buttons), or None."""
    if not button.text().strip() or isinstance(button, QToolButton):
        return None  # icon buttons (dock title bars, tab scrollers) draw no text to cut
    need = button.sizeHint()
    if isinstance(button, QPushButton):  # the style pads text buttons to 80 px: only the text and frame count
        text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        need = QSize(button.fontMetrics().horizontalAdvance(text) + PUSH_BUTTON_FRAME, need.height())
    if need.width() > button.width() + SLACK or need.height() > button.height() + SLACK:
        return f"text needs {need.width()}x{need.height()}, has {button.width()}x{button.height()}"
    return None


def combo_cut(combo: QComboBox) -> str | None:
    """Why a combo box's current item is clipped (Qt cuts it at the arrow, without "…"), or None."""
    if combo.isEditable() or combo.property("elides") or not combo.currentText():
        return None
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    need = combo.fontMetrics().horizontalAdvance(combo.currentText())
    if need > field.width() + SLACK:
        return f"item {combo.currentText()[:30]!r} needs {need}px, its field has {field.width()}px"
    return None


def check_text(widgets: list[QWidget]) -> list[Violation]:
    out = []
    for w in widgets:
        why = None
        if isinstance(w, QLabel):
            why = label_cut(w)
        elif isinstance(w, QAbstractButton):
            why = button_cut(w)
        elif isinstance(w, QComboBox):
            why = combo_cut(w)
        if why:
            out.append(Violation("cut_text", describe(w), why))
    return out


def _in_layout(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    return layout is not None and layout.indexOf(widget) >= 0


def _layout_minimum(w: QWidget) -> QSize:
    """The minimum a layout honours: an explicit minimum size wins over the hint, per direction."""
    hint, explicit = w.minimumSizeHint(), w.minimumSize()
    return QSize(explicit.width() or hint.width(), explicit.height() or hint.height())


def check_squeezed(widgets: list[QWidget]) -> list[Violation]:
    """Widgets a layout or splitter gave less than their minimum size (their content is clipped)."""
    out = []
    for w in widgets:
        parent = w.parentWidget()
        if not (_in_layout(w) or isinstance(parent, QSplitter)):
            continue
        need = _layout_minimum(w)
        policy = w.sizePolicy()
        short_w = need.width() > w.width() + SLACK and policy.horizontalPolicy() != policy.Policy.Ignored
        short_h = need.height() > w.height() + SLACK and policy.verticalPolicy() != policy.Policy.Ignored
        if short_w or short_h:
            out.append(Violation("below_minimum", describe(w),
                                 f"minimum {need.width()}x{need.height()}, has {w.width()}x{w.height()}"))
    return out


def check_overlap(widgets: list[QWidget]) -> list[Violation]:
    """No two visible widgets of one layout intersect."""
    out = []
    by_parent: dict[int, list[QWidget]] = {}
    for w in widgets:
        # a main window lays out its docks, dock tab bars and centre itself: all its children count
        if _in_layout(w) or (isinstance(w.parentWidget(), QMainWindow) and not w.isWindow()):
            by_parent.setdefault(id(w.parentWidget()), []).append(w)
    for siblings in by_parent.values():
        for i, a in enumerate(siblings):
            for b in siblings[i + 1:]:
                common = a.geometry().intersected(b.geometry())
                if common.width() > SLACK and common.height() > SLACK:
                    out.append(Violation("overlap", f"{describe(a)} / {describe(b)}",
                                         f"{_rect(a.geometry())} and {_rect(b.geometry())}"))
    return out


def check_docks(widgets: list[QWidget]) -> list[Violation]:
    """No docked dock below its minimum size; no scroll area (docks and views alike) scrolling sideways."""
    out = []
    for w in widgets:
        if isinstance(w, QDockWidget) and not w.isFloating():
            need = _layout_minimum(w)
            if need.width() > w.width() + SLACK or need.height() > w.height() + SLACK:
                out.append(Violation("dock_squeezed", describe(w),
                                     f"minimum {need.width()}x{need.height()}, has {w.width()}x{w.height()}"))
        elif isinstance(w, QScrollArea) and not isinstance(w, QAbstractItemView):
            bar = w.horizontalScrollBar()
            if bar.isVisible() and bar.maximum() > 0:
                out.append(Violation("scrolls_sideways", describe(w),
                                     f"content {w.widget().width() if w.widget() else 0}px in {w.viewport().width()}px"))
    return out


# -- plots --------------------------------------------------------------------------------------------------
def plot_canvases(root: QWidget) -> list[pg.GraphicsView]:
    """The pyqtgraph canvases shown under ``root``."""
    canvases = ([root] if isinstance(root, pg.GraphicsView) else []) + root.findChildren(pg.GraphicsView)
    return [w for w in canvases if shown(w)]


def check_plots(root: QWidget, largest: QSize | None, min_side: int = MIN_PLOT_SIDE) -> list[Violation]:
    """Every plot area at least ``min_side`` a side; the largest canvas at least ``largest``; plot text whole."""
    out = []
    canvases = plot_canvases(root)
    for canvas in canvases:
        for item in canvas.scene().items():
            if isinstance(item, pg.ViewBox) and item.isVisible():
                size = item.size()
                if min(size.width(), size.height()) < min_side and not _is_colorbar_box(item):
                    out.append(Violation("plot_small", describe(canvas),
                                         f"plot area {size.width():.0f}x{size.height():.0f} < {min_side}px a side"))
        out.extend(_check_plot_text(canvas))
        out.extend(_check_text_overlap(canvas))
    if largest is not None and canvases:
        best = max(canvases, key=lambda c: min(c.width() / largest.width(), c.height() / largest.height()))
        if best.width() < largest.width() or best.height() < largest.height():
            out.append(Violation("largest_plot", describe(best),
                                 f"largest plot {best.width()}x{best.height()} < {largest.width()}x{largest.height()}"))
    return out


def _is_colorbar_box(box: pg.ViewBox) -> bool:
    """A colour bar's view box is a thin strip by design."""
    item = box.parentItem()
    while item is not None:
        if isinstance(item, pg.ColorBarItem):
            return True
        item = item.parentItem()
    return False


def _check_plot_text(canvas: pg.GraphicsView) -> list[Violation]:
    out = []
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    for item in canvas.scene().items():
        if not item.isVisible():
            continue
        if isinstance(item, pg.LabelItem):
            text = item.item.toPlainText().strip()
            if not text:
                continue
            need = item.item.boundingRect().width()
            if need > item.width() + SLACK and not item.property("elided"):
                out.append(Violation("cut_plot_text", f"{describe(canvas)} title {text[:40]!r}",
                                     f"text {need:.0f}px in {item.width():.0f}px"))
            elif not _inside(item.item.sceneBoundingRect(), seen):
                out.append(Violation("cut_plot_text", f"{describe(canvas)} title {text[:40]!r}",
                                     f"text at {_rectf(item.item.sceneBoundingRect())}, canvas {_rectf(seen)}"))
        elif isinstance(item, pg.AxisItem) and item.label.isVisible() and item.label.toPlainText().strip():
            text = item.label.toPlainText().strip()
            along = item.label.boundingRect().width()  # the label runs along its axis (rotated on left/right)
            room = item.width() if item.orientation in ("top", "bottom") else item.height()
            if along > room + SLACK:
                out.append(Violation("cut_plot_text", f"{describe(canvas)} axis label {text[:40]!r}",
                                     f"text {along:.0f}px along a {room:.0f}px axis"))
        elif isinstance(item, pg.TextItem) and item.textItem.toPlainText().strip():
            if not _inside(item.sceneBoundingRect(), seen):
                text = item.textItem.toPlainText().strip()
                out.append(Violation("cut_plot_text", f"{describe(canvas)} text {text[:40]!r}",
                                     f"text at {_rectf(item.sceneBoundingRect())}, canvas {_rectf(seen)}"))
    return out


def _check_text_overlap(canvas: pg.GraphicsView) -> list[Violation]:
    """No two text items (value labels on bars, cell numbers) drawn over each other."""
    out = []
    texts = [(i, i.sceneBoundingRect()) for i in canvas.scene().items()
             if isinstance(i, pg.TextItem) and i.isVisible() and i.textItem.toPlainText().strip()]
    for n, (a, ra) in enumerate(texts):
        for b, rb in texts[n + 1:]:
            common = ra.intersected(rb)
            # a text item's box has a few px of margin round the glyphs: only a real overlap counts
            if common.width() > TEXT_MARGIN and common.height() > TEXT_MARGIN:
                out.append(Violation("overlap", f"{describe(canvas)} texts {a.textItem.toPlainText()[:20]!r} / "
                                                f"{b.textItem.toPlainText()[:20]!r}",
                                     f"{_rectf(ra)} and {_rectf(rb)}"))
    return out


def _inside(rect: QRectF, room: QRectF) -> bool:
    return (rect.left() >= room.left() - SLACK and rect.top() >= room.top() - SLACK
            and rect.right() <= room.right() + SLACK and rect.bottom() <= room.bottom() + SLACK)


def _rect(r: QRect) -> str:
    return f"{r.width()}x{r.height()}+{r.x()}+{r.y()}"


def _rectf(r: QRectF) -> str:
    return f"{r.width():.0f}x{r.height():.0f}+{r.x():.0f}+{r.y():.0f}"


# -- everything -------------------------------------------------------------------------------------------------
def check_widget(root: QWidget, *, largest_plot: QSize | None = None, plots_under: QWidget | None = None
                 ) -> list[Violation]:
    """Every widget rule on ``root``'s visible widgets; plot rules on the canvases under ``plots_under``."""
    widgets = visible_widgets(root)
    out = (check_tab_bars(widgets) + check_text(widgets) + check_squeezed(widgets) + check_overlap(widgets)
           + check_docks(widgets))
    out += check_plots(plots_under if plots_under is not None else root, largest_plot)
    return out


def check_main_window(window: QMainWindow, available: QRect, *, largest_plot: QSize | None,
                      max_min_size: QSize | None = None) -> list[Violation]:
    """The window rules, then every widget rule, with the plot targets applied to the centre tab shown."""
    centre = window.centralWidget()
    return check_window_fits(window, available, max_min_size) + check_widget(
        window, largest_plot=largest_plot, plots_under=centre)
