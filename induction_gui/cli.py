"""Headless verbs of ``induction-gui``: presets, check, export.

Never imports Qt (an import-linter contract enforces it), so these verbs start
fast, run over SSH and in CI, and give notebooks the same numbers as the window.
Exit codes: 0 success, 1 internal error (a bug: the traceback is printed),
2 bad input (one clear line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input; the message is shown as it is and the exit code is 2."""


def _cmd_presets(args: argparse.Namespace, out: TextIO) -> int:
    from .model.scenario import list_presets

    presets = list_presets()
    width = max((len(name) for name, _ in presets), default=0)
    for name, description in presets:
        out.write(f"{name:<{width}}  {description}\n")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .model.check import check_scenario_file

    status = EXIT_OK
    for file in args.files:
        problems = check_scenario_file(file)
        if problems:
            status = EXIT_BAD_INPUT
            for problem in problems:
                sys.stderr.write(f"{file}: {problem}\n")
        elif not args.quiet:
            out.write(f"{file}: ok\n")
    return status


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from .engine import TokenError
    from .engine.sequences import UnknownTokenError
    from .analysis.export import export_scenario
    from .model.scenario import load_scenario

    from .model.model_folder import is_model_path, scenario_from_model
    from .model.tokenizer import load_tokenizer

    tokenizer = None
    if is_model_path(args.scenario):  # a TransformerLens model folder: its own tokenizer, if it has one
        scenario = scenario_from_model(args.scenario)
        folder = Path(args.scenario)
        tokenizer = load_tokenizer(folder if folder.is_dir() else folder.parent)
    else:
        scenario = load_scenario(args.scenario)
    try:
        written = export_scenario(scenario, Path(args.out), text=args.text, source=args.scenario,
                                  tokenizer=tokenizer)
    except (UnknownTokenError, TokenError) as exc:
        where = "--text" if args.text is not None else args.scenario
        vocab = ", ".join(scenario.vocab)
        hint = f" (the vocabulary is: {vocab})" if isinstance(exc, UnknownTokenError) else ""
        raise UsageError(f"{where}: {exc}{hint}") from None
    if not args.quiet:
        for path in written:
            out.write(f"wrote {path}\n")
    return EXIT_OK


def _cmd_export_model(args: argparse.Namespace, out: TextIO) -> int:
    """Write config.json + model.safetensors that TransformerLens loads (see the README's notebook lines)."""
    import shutil

    from .engine.weights import Weights
    from .engine.weights_io import TOKENIZER_NAME, save_model_folder

    source = Path(args.model)
    if source.is_dir() or source.suffix.lower() in (".safetensors", ".npz"):
        weights = Weights.load(source)
    else:
        from .model.scenario import load_scenario

        weights = load_scenario(args.model).weights
    folder = save_model_folder(weights, Path(args.out))
    tokenizer = source / TOKENIZER_NAME if source.is_dir() else source.parent / TOKENIZER_NAME
    if source.suffix.lower() != ".json" and tokenizer.is_file() and tokenizer.resolve() != (folder / TOKENIZER_NAME).resolve():
        shutil.copyfile(tokenizer, folder / TOKENIZER_NAME)
    if not args.quiet:
        for path in sorted(folder.iterdir()):
            out.write(f"wrote {path}\n")
    return EXIT_OK


def _cmd_export_script(args: argparse.Namespace, out: TextIO) -> int:
    """Write a self-contained NumPy script that reruns the scenario and prints what the lecture printed."""
    from .model.scenario import load_scenario
    from .model.script_export import ScriptExportError, write_script

    scenario = load_scenario(args.scenario)
    try:
        written = write_script(scenario, Path(args.out), source=args.scenario)
    except ScriptExportError as exc:
        raise UsageError(f"{args.scenario}: {exc}") from None
    if not args.quiet:
        out.write(f"wrote {written}\n")
    return EXIT_OK


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl+C


class _TrainProgress:
    """Progress of a training run on stderr: one line redrawn in place on a terminal, plain lines otherwise.

    A terminal gets a ``\r`` bar redrawn at most 10 times a second (a tiny model
    does thousands of steps a second, and printing each would cost more than
    training); a log file or CI gets one line per 10 % so it stays readable.
    """

    WIDTH = 20  # characters of the bar itself

    def __init__(self, stream: TextIO, total: int, *, enabled: bool = True) -> None:
        import time

        self._stream = stream
        self._total = max(1, total)
        self._enabled = enabled
        self._tty = enabled and stream.isatty()
        self._clock = time.monotonic
        self._start = self._clock()
        self._first_step: int | None = None
        self._last_draw = -1.0
        self._next_tenth = 1
        self._width = 0
        self._best = float("nan")
        self._phase = ""  # markov-chains: the last held-out KL(bigram ‖ model) and the nearest strategy

    def update(self, record: object, *, force: bool = False) -> None:
        """Show the state after ``record`` (a StepRecord)."""
        from .model.training_run import best_head

        if not self._enabled:
            return
        step = int(record.step)  # type: ignore[attr-defined]
        if self._first_step is None:
            self._first_step = step - 1
        best = best_head(record)  # type: ignore[arg-type]
        if best is not None:
            self._best = best[2]
        if getattr(record, "kl_bigram", None) is not None:
            self._phase = f"KL bigram {record.kl_bigram:.3f} ({record.nearest}) "  # type: ignore[attr-defined]
        now = self._clock()
        if self._tty:
            if force or step >= self._total or now - self._last_draw >= 0.1:
                self._last_draw = now
                line = self._line(record, step, now)
                self._stream.write("\r" + line.ljust(self._width))
                self._width = len(line)
                self._stream.flush()
        elif force or step * 10 >= self._next_tenth * self._total:
            while step * 10 >= self._next_tenth * self._total:
                self._next_tenth += 1
            self._stream.write(self._line(record, step, now) + "\n")
            self._stream.flush()

    def _line(self, record: object, step: int, now: float) -> str:
        import shutil

        done = step - (self._first_step or 0)
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        eta = max(self._total - step, 0) / rate if rate > 0 else None
        eta_text = "--:--" if eta is None else f"{int(eta) // 60}:{int(eta) % 60:02d}"
        r = record
        head = f"step {step:>{len(str(self._total))}}/{self._total} "
        tail = (
            f"{100 * step // self._total:3d}% loss {r.loss:.3f} "  # type: ignore[attr-defined]
            f"(first {r.loss_first:.3f}, repeat {r.loss_repeat:.3f}) "  # type: ignore[attr-defined]
            f"prefix-match {self._best:.2f} {self._phase}{rate:.0f} steps/s ETA {eta_text}"
        )
        if not self._tty:
            return head + tail
        # a line wider than the terminal would wrap and break the \r redraw: the bar gives way first
        columns = shutil.get_terminal_size().columns - 1
        width = min(self.WIDTH, columns - len(head) - len(tail) - 3)
        if width >= 5:
            filled = width * step // self._total
            head += "[" + "#" * filled + "." * (width - filled) + "] "
        return (head + tail)[:columns]

    def close(self) -> None:
        """End the in-place line, so what follows starts on a line of its own."""
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0


def _cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    """Train an attention-only model and write a run folder the window opens (see model/training_run.py).

    The config is a preset with the given options replacing its fields; it is
    validated before the folder is touched. Training writes the history every
    few steps and a checkpoint every ``checkpoint_every`` steps (and at step 0),
    so whatever stops the run leaves a folder :class:`TrainingRun` can read.

    Exit codes:

    * 0 the run finished (whether or not an induction head formed: that is a
      result, not an error).
    * 2 bad input: bad hyperparameters, an unknown preset, an ``--out`` folder
      that is refused; nothing is written. Also 2 when the loss became NaN
      (the run is kept with status "diverged" and its last good checkpoint):
      with a valid config the only cause is the hyperparameters (a learning
      rate too large for the model, usually), so the fix is in the command
      line, as for any other bad input, and the message says what to lower;
      1 is kept for bugs, which print a traceback.
    * 130 Ctrl+C: the current step completes, every checkpoint so far is kept
      and the final weights saved, history.json says "interrupted" and
      scenario.json opens the model. A second Ctrl+C stops at once and keeps
      the last checkpoint as the model.
    """
    import dataclasses
    import signal
    import threading

    from .engine import training
    from .engine.train_config import TRAIN_PARAMS
    from .model.training_run import RunWriter, TrainingRunError, best_head
    from .model.training_session import TrainingSession

    if args.preset not in training.PRESETS:
        raise UsageError(f"--preset: unknown preset {args.preset!r} (known: {', '.join(training.PRESETS)})")
    # the TrainConfig fields the command line can override; each is an option of the same name with dashes
    fields = [param.name for param in TRAIN_PARAMS]
    overrides = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    base = training.PRESETS[args.preset]
    if "k" in overrides and "d_vocab" not in overrides and overrides.get("dataset", base.dataset) == "markov-chains":
        overrides["d_vocab"] = overrides["k"]  # a Markov-chain model's tokens are its k states
    config = dataclasses.replace(base, **overrides)
    try:
        config.validate()
    except training.TrainingConfigError as exc:
        field = str(exc).split(":", 1)[0]
        hint = f" (--{field.replace('_', '-')})" if field in fields else ""
        raise UsageError(f"bad hyperparameter: {exc}{hint}") from None
    try:
        writer = RunWriter(args.out, config, overwrite=args.overwrite)
    except TrainingRunError as exc:
        raise UsageError(f"--out: {exc}") from None

    training.limit_blas_threads()  # small matrices: more BLAS threads only add overhead and jitter
    session = TrainingSession(config, writer=writer)
    progress = _TrainProgress(sys.stderr, config.steps, enabled=not args.quiet)

    def on_sigint(signum: int, frame: object) -> None:
        # the first Ctrl+C stops after the current step (whole weights); a second one at once
        if session.stop_event.is_set():
            raise KeyboardInterrupt
        session.stop()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    try:
        try:
            for item in session.run():
                if item.record is not None:
                    progress.update(item.record)
        except KeyboardInterrupt:
            pass  # the session is "interrupted" and shows its last checkpoint: the weights may be half updated
        except BaseException:
            # a bug: keep what was trained readable, then let main() report the original error
            progress.close()
            session.finish_quietly()
            raise
        progress.close()
        written = session.finish()
        if config.dataset == "markov-chains":
            from .model.markov_run import write_outputs

            written += write_outputs(session, writer.folder)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)

    status = session.status
    last = session.records[-1] if session.records else None
    if status == "interrupted":
        sys.stderr.write(
            f"induction-gui train: interrupted at step {session.step}; "
            f"kept {len(writer.checkpoint_steps)} checkpoints\n"
        )
    elif status == "diverged":
        sys.stderr.write(f"induction-gui train: training diverged: {session.message}; try a smaller --lr\n")
    if not args.quiet:
        if config.dataset == "markov-chains" and last is not None:
            phases = session.phases
            changes = ", ".join(f"{name} nearest from step {step}" for name, step in phases.items())
            changes = changes or "no phase change"
            final = next((r for r in reversed(session.records) if r.kl_bigram is not None), None)
            kls = (f"; last KL uniform {final.kl_uniform:.3f}, unigram {final.kl_unigram:.3f}, "
                   f"bigram {final.kl_bigram:.3f} nats" if final is not None else "")  # fmt: skip
            out.write(f"{changes} in {last.step} steps{kls}\n")
        elif session.formed_at is not None:
            formed = next(r for r in session.records if r.step == session.formed_at)
            layer, head, score = best_head(formed) or (0, 0, float("nan"))
            out.write(
                f"induction head formed at step {session.formed_at} "
                f"(L{layer}H{head} prefix-matching {score:.2f}, "
                f"loss first {formed.loss_first:.3f} / repeat {formed.loss_repeat:.3f})\n"
            )
        elif last is not None:
            out.write(f"no induction head formed in {last.step} steps\n")
        for path in written:
            out.write(f"wrote {path}\n")
        steps = writer.checkpoint_steps
        out.write(
            f"wrote {len(steps)} checkpoints in {writer.folder / 'checkpoints'} (steps {steps[0]} to {steps[-1]})\n"
        )
    if status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_BAD_INPUT if status == "diverged" else EXIT_OK


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace, TextIO], int], str]] = {
    "presets": (_cmd_presets, "list the built-in scenarios with a one-line description"),
    "check": (_cmd_check, "validate scenario files; exit 2 with one line per problem"),
    "export": (_cmd_export, "write cache.npz, logits.npy, metrics.json and pattern CSVs"),
    "export-model": (_cmd_export_model, "write config.json + model.safetensors that TransformerLens loads"),
    "export-script": (_cmd_export_script, "write a self-contained NumPy script that reruns the scenario"),
    "train": (_cmd_train, "train a model, watch its induction head form; write a run folder the window opens"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every headless verb (also used to print the usage)."""
    parser = argparse.ArgumentParser(
        prog="induction-gui",
        description=(
            "Induction Head Explorer: edit token sequences and attention-head weights and "
            "watch attention patterns, copied representations and circuit metrics change."
        ),
        epilog="Without a sub-command, induction-gui [NAME|FILE] opens the explorer window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("presets", help=COMMANDS["presets"][1], description=COMMANDS["presets"][1])

    p = sub.add_parser("check", help=COMMANDS["check"][1], description=COMMANDS["check"][1])
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario files (*.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")

    p = sub.add_parser("export", help=COMMANDS["export"][1], description=COMMANDS["export"][1])
    p.add_argument("scenario", metavar="NAME|FILE", help="a preset name (see 'presets') or a scenario file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--text", metavar="TEXT", help="run on this text instead of the scenario's tokens")
    p.add_argument("-q", "--quiet", action="store_true", help="do not list the files written")

    p = sub.add_parser("export-model", help=COMMANDS["export-model"][1], description=COMMANDS["export-model"][1])
    p.add_argument("model", metavar="NAME|FILE|FOLDER", help="a preset, a scenario file, or a model folder/file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not list the files written")

    p = sub.add_parser("export-script", help=COMMANDS["export-script"][1], description=COMMANDS["export-script"][1])
    p.add_argument("scenario", metavar="NAME|FILE", help="a preset name (see 'presets') or a scenario file")
    p.add_argument("--out", required=True, metavar="FILE.py", help="the script to write (replaced if it exists)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the file written")

    p = sub.add_parser("train", help=COMMANDS["train"][1], description=COMMANDS["train"][1])
    p.add_argument("--preset", default="default", metavar="NAME",
                   help="starting hyperparameters: default, slow-motion, tiny, fixed-period, markov-chains "
                   "(default: default)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder (created; must be new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace a previous run in DIR (only a run's files)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary (errors only)")
    g = p.add_argument_group("overrides of the preset")
    from .engine.train_config import TRAIN_PARAMS  # imported here, as the verbs import: `import cli` stays light

    for param in TRAIN_PARAMS:  # the settings the Training dock offers too, with the same words
        options = ["--" + name.replace("_", "-") for name in (param.name, *param.aliases)]
        if param.kind is bool:  # a switch; None when absent, so the preset's value stays
            g.add_argument(*options, dest=param.name, action="store_const", const=True, default=None, help=param.doc)
            continue
        metavar = {float: "X", str: "NAME"}.get(param.kind, "N")
        g.add_argument(*options, dest=param.name, type=param.kind, metavar=metavar, help=param.doc)
    return parser


def print_usage(stream: TextIO) -> None:
    """The help of every headless verb (``induction-gui --help`` prints it after the window's)."""
    build_parser().print_help(stream)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one verb and return its exit code; bad input never shows a traceback."""
    from .engine import TokenError, WeightsError
    from .engine.sequences import UnknownTokenError
    from .model.scenario import ScenarioError

    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return EXIT_OK
    handler = COMMANDS[args.command][0]
    try:
        return handler(args, out)
    except (ScenarioError, WeightsError, TokenError, UnknownTokenError, UsageError) as exc:
        sys.stderr.write(f"induction-gui {args.command}: {exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        sys.stderr.write(f"induction-gui {args.command}: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"induction-gui {args.command}: interrupted\n")
        return 130
    except Exception:  # noqa: BLE001 - a bug: say so with the traceback, exit 1
        sys.stderr.write(f"induction-gui {args.command}: internal error, please report it:\n")
        traceback.print_exc()
        return EXIT_INTERNAL
