"""The controls that give way on a small screen: a flow row that wraps, a scroll area that never scrolls
sideways, an eliding label and combo box, and plot text elided to its room."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg

from induction_gui.qt.widgets.fitting import ElidingComboBox, FlowRow, VerticalScrollArea
from induction_gui.qt.widgets.labels import ElidedLabel
from induction_gui.qt.widgets.plot_text import fit_axis_labels, free_width


def _flow_row() -> tuple[FlowRow, list[QWidget]]:
    row = FlowRow()
    combo = QComboBox()
    combo.addItem("a fairly long choice of measure")
    groups = [row.add(QLabel("Measure:"), combo), row.add(QCheckBox("exclude_bos (ignore position 0)"))]
    return row, groups


def test_flow_row_is_one_row_when_wide_and_wraps_when_narrow(qtbot) -> None:  # noqa: ANN001
    row, (first, second) = _flow_row()
    qtbot.addWidget(row)
    wide = row.sizeHint().width() + 20
    row.resize(wide, row.heightForWidth(wide))
    row.show()
    qtbot.waitExposed(row)
    assert first.y() == second.y() and second.x() > first.geometry().right()
    narrow = max(first.sizeHint().width(), second.sizeHint().width()) + 4
    row.resize(narrow, row.heightForWidth(narrow))
    qtbot.waitUntil(lambda: second.y() > first.geometry().bottom())
    assert row.heightForWidth(narrow) > row.heightForWidth(wide)
    # its minimum width is its widest group, not the sum of them
    assert row.minimumSizeHint().width() < first.minimumSizeHint().width() + second.minimumSizeHint().width()


def test_vertical_scroll_area_is_as_wide_as_its_content(qtbot) -> None:  # noqa: ANN001
    content = QWidget()
    QVBoxLayout(content).addWidget(QCheckBox("a check box with a long text that must show whole"))
    area = VerticalScrollArea(content)
    qtbot.addWidget(area)
    need = content.minimumSizeHint().width()
    assert area.minimumSizeHint().width() >= need + area.verticalScrollBar().sizeHint().width()
    content.layout().addWidget(QCheckBox("an even longer check box text that widens the content and the area"))
    qtbot.waitUntil(lambda: area.minimumSizeHint().width() > need + area.verticalScrollBar().sizeHint().width())


def test_elided_label_and_combo_keep_the_whole_text_in_the_tool_tip(qtbot) -> None:  # noqa: ANN001
    holder = QWidget()
    layout = QVBoxLayout(holder)
    label = ElidedLabel("previous-token head of layer 0, the one the induction head composes with")
    combo = ElidingComboBox(6)
    combo.addItem("K-composition: previous-token head → this head")
    layout.addWidget(label)
    layout.addWidget(combo)
    qtbot.addWidget(holder)
    holder.resize(160, 80)
    holder.show()
    qtbot.waitExposed(holder)
    assert label.text().endswith("…") and label.full_text() in label.toolTip()
    assert label.minimumSizeHint().width() < label.sizeHint().width()
    combo.grab()
    assert combo.itemText(0) in combo.toolTip()
    holder.resize(900, 80)  # room again: the whole text, no tool tip needed
    qtbot.waitUntil(lambda: label.text() == label.full_text())
    assert label.toolTip() == ""


def test_plot_title_and_axis_label_elide_to_their_room_and_keep_the_whole_text(qtbot) -> None:  # noqa: ANN001
    widget = pg.PlotWidget()
    plot = widget.getPlotItem()
    free_width(plot.titleLabel)
    fit_axis_labels(plot)
    long_title = "Contributions of every head and bias to the logit of the actual next token"
    long_axis = "position i of the sequence (predicting the token at position i + 1)"
    plot.setTitle(long_title)
    plot.setLabel("bottom", long_axis)
    qtbot.addWidget(widget)
    widget.resize(220, 200)
    widget.show()
    qtbot.waitExposed(widget)
    bottom = plot.getAxis("bottom")
    qtbot.waitUntil(lambda: bottom.label.boundingRect().width() <= bottom.width() + 2)
    assert bottom.labelText == long_axis and long_axis in bottom.label.toolTip()  # callers read the whole text
    assert plot.titleLabel.text == long_title and "…" in plot.titleLabel.item.toPlainText()
    assert plot.titleLabel.item.boundingRect().width() <= plot.titleLabel.width() + 2
    widget.resize(1400, 200)
    qtbot.waitUntil(lambda: plot.titleLabel.item.toPlainText() == long_title)
    qtbot.waitUntil(lambda: bottom.label.toPlainText().strip() == long_axis, timeout=2000)


def test_tab_bar_draws_short_titles_only_when_the_full_ones_do_not_fit(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QStyleOptionTab, QTabBar, QTabWidget, QToolButton

    from induction_gui.qt.widgets.tab_bar import ShortTitleTabBar

    tabs = QTabWidget()
    bar = ShortTitleTabBar()
    tabs.setTabBar(bar)
    for title in ("Attention", "Copied representation", "Predictions", "Circuits"):
        tabs.addTab(QWidget(), title)
    bar.set_short_title("Copied representation", "Copied")
    qtbot.addWidget(tabs)
    full = sum(QTabBar.tabSizeHint(bar, i).width() for i in range(bar.count()))  # with the full titles
    tabs.resize(full + 40, 200)
    tabs.show()
    qtbot.waitExposed(tabs)

    def drawn(index: int) -> str:
        option = QStyleOptionTab()
        bar.initStyleOption(option, index)
        return option.text

    assert not bar.shortening() and drawn(1) == "Copied representation"
    tabs.resize(full - 60, 200)  # the full titles no longer fit: the short one is drawn, nothing hidden
    qtbot.waitUntil(bar.shortening)
    assert drawn(1) == "Copied" and bar.tabText(1) == "Copied representation"
    assert not [b for b in bar.findChildren(QToolButton) if b.isVisible()], "no scroll arrows"
    assert all(bar.rect().contains(bar.tabRect(i)) for i in range(bar.count()))

