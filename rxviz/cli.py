"""The ``rxviz`` command line: predict, dashboard, evaluate, sanity, explain-eval, train, fit-ood, fit-domain and export.

Errors a user can cause (a bad image, a missing folder) print one line on stderr and give a
non-zero exit status; they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from .io import InputError
from .table import text_table
from .runtime import NeedsTensorFlow


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .serving import voila_command

    command = voila_command(args.port, args.host, args.token, args.model_dir, args.examples, args.voila_options)
    for line in command.lines:
        print(f"rxviz: {line}", flush=True)
    os.execve(command.argv[0], command.argv, command.env)  # Voila takes this process's place
    return 0


def _say_error(message: str) -> None:
    print(f"rxviz: error: {message}", file=sys.stderr)


def _cmd_predict(args: argparse.Namespace) -> int:
    from .archive import expand, records, score

    paths = expand(args.images)
    if not paths:
        raise ValueError(f"no images found in {' '.join(args.images)}")
    method = args.method if args.cam_dir or args.json else None  # JSON carries the heatmap's reading
    if args.cam_dir:
        if args.workers or args.scheduler:
            raise ValueError("--cam-dir writes overlays in this process: leave out --workers and --scheduler")
        answers = records(paths, method, args.target, args.model_dir, extra=_overlay_writer(args))
    else:
        answers = score(paths, method, args.target, args.model_dir, args.workers, args.scheduler)
    failed = 0
    for record in answers:
        if "error" in record:
            _say_error(f"{record['file']}: {record['error']}")
            failed += 1
        elif args.json:
            print(json.dumps(record), flush=True)
        else:
            probs = "  ".join(f"{k} {v:.3f}" for k, v in record["probabilities"].items())
            warning = "".join(f"\n  warning ({w['code']}): {w['sentence']}" for w in record["warnings"])
            overlay = f"  -> {record['overlay']}\n  {record['summary']}" if "overlay" in record else ""
            print(f"{record['file']}: {record['label']}  ({probs}){warning}{overlay}", flush=True)
    return 1 if failed else 0


def _overlay_writer(args: argparse.Namespace):
    """``extra`` for [`rxviz.archive.records`][rxviz.archive.records]: writes each result's overlay PNG into
    ``--cam-dir`` and adds its path and the heatmap's summary to the record."""
    import cv2

    Path(args.cam_dir).mkdir(parents=True, exist_ok=True)

    def write(result, path: str) -> dict:
        out = Path(args.cam_dir) / f"{Path(path).stem}_{result.method}_{result.target}.png"
        picture = result.overlay(alpha=args.alpha, colormap=args.colormap, outline=not args.no_outline)
        cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        return {"overlay": str(out), "summary": result.heat_summary}

    return write


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.external:
        return _evaluate_external(args)
    if not args.folder:
        raise ValueError("give a folder holding NORMAL/ and PNEUMONIA/, or --external DIR")
    from .api import Classifier
    from .training.evaluate import calibrate_on_half, evaluate_folder, format_report, plot_calibration, write_card

    classifier = Classifier.load(args.model_dir)
    sections: dict = {}
    if args.calibrate_half:
        temperature, report = calibrate_on_half(Path(args.folder), classifier, show_progress=not args.quiet)
        sections["temperature"] = temperature
        print(f"temperature {temperature:.3f}, fitted on {report['half']['calibration_images']} images of half the"
              f" patients; figures below: the other {report['half']['report_images']} images", file=sys.stderr)
    else:
        report = evaluate_folder(Path(args.folder), classifier, show_progress=not args.quiet)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    sections["test_metrics"] = report
    if args.calibration_plot:
        plot_calibration(report, f"{classifier.card.name} {classifier.card.version}, {report['n_images']} images"
                         ).savefig(args.calibration_plot)
        sections["calibration_plot"] = args.calibration_plot
    if args.write_card:
        path = write_card(classifier.card.directory, **sections)
        print(f"wrote test metrics to {classifier.card.directory / 'model_card.json'} and {path}", file=sys.stderr)
    return 0


def _evaluate_external(args: argparse.Namespace) -> int:
    """``rxviz evaluate --external DIR [FOLDER]``: the external validation, and the false alarms
    on the report half of FOLDER (default: the dataset's test folder) and its benign variants."""
    from .api import Classifier
    from .data import data_dir
    from .training.external import external_report, false_alarms, format_external, held_out_margins, plot_risk_coverage
    from .training.sources import external_images
    from .training.evaluate import test_halves, write_card

    classifier = Classifier.load(args.model_dir)
    card = classifier.card
    held_out = held_out_margins(card.directory, card.extra.get("domain"))
    report = external_report(classifier, external_images(Path(args.external)), held_out, show_progress=not args.quiet)
    folder = Path(args.folder) if args.folder else data_dir() / "test"
    report_half = test_halves(folder)[1]  # the calibration half may have set the thresholds
    alarms = false_alarms(classifier, [s.path for s in report_half], show_progress=not args.quiet)
    alarms["folder"] = f"{folder}, report half (split by patient)"
    summary = {k: v for k, v in report.items() if k != "images"}
    print(json.dumps({**summary, "kermany_false_alarms": alarms}, indent=2) if args.json
          else format_external(report, alarms))
    if args.risk_plot:
        plot_risk_coverage(report, f"{card.name} {card.version} on {report['n_images']} external radiographs"
                           ).savefig(args.risk_plot)
        summary["risk_plot"] = args.risk_plot
    if args.write_card:
        path = write_card(card.directory, external_validation={**summary, "external": str(args.external),
                                                               "kermany_false_alarms": alarms})
        print(f"wrote the external validation to {path}", file=sys.stderr)
    return 0


def _cmd_fit_domain(args: argparse.Namespace) -> int:
    from .card import model_dir
    from .training.domain import DomainConfig, fit_domain
    from .training.evaluate import test_halves

    folder = Path(args.model_dir) if args.model_dir else model_dir()
    config = DomainConfig(epochs=args.epochs, seed=args.seed)
    command = "rxviz " + " ".join(shlex.quote(a) for a in args.argv)
    test_half = [s.path for s in test_halves(Path(args.calibration_half))[0]] if args.calibration_half else ()
    entry = fit_domain(folder, Path(args.data), Path(args.external) if args.external else None, config, command,
                       show_progress=not args.quiet, test_half=test_half)
    print(f"domain check fitted in {entry['duration_s']} s: network threshold {entry['threshold']:.2f},"
          f" frontal threshold {entry['frontal']['threshold']:.2f}; card updated in {folder}")
    return 0


def _cmd_sanity(args: argparse.Namespace) -> int:
    from .api import Classifier
    from .trust.checks import sanity_cascades
    from .trust.sanity import FAIL_SPEARMAN, passes, plot_cascade

    classifier = Classifier.load(args.model_dir)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    failed = False
    for method in args.method:
        results = sanity_cascades(classifier, [Path(p) for p in args.images], method, show_progress=not args.quiet)
        layers = [step.layer for step in results[0][2]]
        print(f"\n{method}: similarity to the trained map as layers are randomised (output first), "
              f"mean over {len(results)} image(s)")
        print(text_table(["randomised down to", "Spearman", "SSIM"],
                         [[layer, float(np.mean([steps[i].spearman for _, _, steps in results])),
                           float(np.mean([steps[i].ssim for _, _, steps in results]))] for i, layer in enumerate(layers)],
                         indent="  "))
        final = float(np.mean([steps[-1].spearman for _, _, steps in results]))
        ok = passes(final)
        failed |= not ok
        print(f"  -> {'passes' if ok else 'FAILS'}: fully randomised Spearman {final:.3f} "
              f"({'<' if ok else '>='} {FAIL_SPEARMAN})")
        for path, image, steps in results:
            figure = plot_cascade(classifier.inputs([image])[0, ..., 0], steps, method)
            out = Path(args.out) / f"sanity_{Path(path).stem}_{method}.png"
            figure.savefig(out)
            print(f"  figure: {out}")
    return 3 if failed and args.strict else 0


def _cmd_explain_eval(args: argparse.Namespace) -> int:
    from .api import Classifier
    from .trust.checks import evaluate_explanations, verdict
    from .data import list_samples
    from .training.evaluate import write_card
    from .trust.faithfulness import plot_curves
    from .lungs import load_segmenter

    classifier = Classifier.load(args.model_dir)
    samples = [s for s in list_samples(Path(args.folder)) if not args.classes or s.class_name in args.classes]
    chosen = [samples[i].path for i in np.random.default_rng(args.seed).permutation(len(samples))[: args.n]]
    scores, mean_curves = evaluate_explanations(classifier, chosen, args.method, args.seed, show_progress=not args.quiet)
    lung_area = scores.pop("lungs").summary()["area"]["mean"]
    table = {m: {"figures": s.summary(), "passes": verdict(s.summary())} for m, s in scores.items()}
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(f"{len(chosen)} images; mean ± std; the explained class is the predicted one")

        def spread(f: dict, key: str) -> str:
            return f"{f[key]['mean']:.3f} ± {f[key]['std']:.3f}"

        rows = []
        for method, row in table.items():
            f, failed = row["figures"], [k for k, ok in row["passes"].items() if not ok]
            rows.append([method, spread(f, "deletion_auc"), f["random_deletion_auc"]["mean"], spread(f, "insertion_auc"),
                         f["random_insertion_auc"]["mean"], spread(f, "randomised_spearman"), f["lung_focus"]["mean"],
                         "all pass" if not failed else "FAILS " + ", ".join(failed)])
        print(text_table(["method", "deletion AUC", "(random)", "insertion AUC", "(random)", "rho random model",
                          "lung focus", "checks"], rows))
        print(f"the lung fields (lung segmenter) cover {lung_area:.3f} of the image on average")
    if args.plot:
        plot_curves(mean_curves, f"Deletion and insertion, {len(chosen)} images").savefig(args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    if args.write_card:
        checks = {"n_images": len(chosen), "seed": args.seed, "classes": args.classes or list(classifier.class_names),
                  "methods": table, "lung_area": lung_area,
                  "lung_mask_note": load_segmenter().note}
        path = write_card(classifier.card.directory, explanation_checks=checks)
        print(f"wrote explanation checks to {path}", file=sys.stderr)
    return 0


def _sources(text: str) -> tuple[str, ...]:
    """``--sources kermany,siim`` -> ("kermany", "siim")."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _cmd_train(args: argparse.Namespace) -> int:
    from .configs import TrainConfig
    from .training.classifier import train

    config = TrainConfig(epochs=args.epochs, input_size=args.input_size, seed=args.seed, limit=args.limit,
                         reframe_variants=args.reframe_variants, reframe_cut=args.reframe_cut,
                         reframe_pad=args.reframe_pad, processing=args.processing, consistency=args.consistency,
                         label_smoothing=args.label_smoothing)
    command = "rxviz " + " ".join(shlex.quote(a) for a in args.argv)
    sources = _sources(args.sources)
    if sources == ("kermany",):
        train(Path(args.data), Path(args.out), config, command=command)
    else:
        from .training.sites import train_sites

        train_sites(Path(args.out), config, sources, command=command)
    return 0


def _cmd_train_lungs(args: argparse.Namespace) -> int:
    from .configs import LungTrainConfig
    from .training.lungs.train import train_lungs

    config = LungTrainConfig(epochs=args.epochs, seed=args.seed, limit=args.limit)
    command = "rxviz " + " ".join(shlex.quote(a) for a in args.argv)
    train_lungs(Path(args.data), Path(args.out), config, command=command)
    return 0


def _cmd_lungs_eval(args: argparse.Namespace) -> int:
    import cv2

    from .data import list_samples
    from .training.lungs.evaluate import (TARGETS, contact_sheet, dice_by_split, headline, kermany_masks, time_per_image,
                                 write_lung_card)
    from .io import load_image
    from .card import read_card
    from .lungs import load_segmenter, lung_model_dir
    from .metrics import targets_met

    folder = Path(args.lung_model_dir) if args.lung_model_dir else lung_model_dir()
    segmenter = load_segmenter(folder)
    card = read_card(folder)
    dice_figures, split_counts = dice_by_split(segmenter, Path(args.masks), card["training"]["config"])
    kermany = kermany_masks(segmenter, Path(args.kermany), show_progress=not args.quiet)
    samples = [s for split in ("train", "test") for s in list_samples(Path(args.kermany) / split)]
    drawn = [samples[i].path for i in np.random.default_rng(args.seed).permutation(len(samples))]
    timing = time_per_image(segmenter, [load_image(p) for p in drawn[:50]])
    figures = headline(dice_figures, kermany, timing)
    print(text_table(["set", "source", "n", "Dice median", "p10", "min", "precision", "recall"],
                     [[part, source, row["n"], row["median"], row["p10"], row["min"], row["precision_median"],
                       row["recall_median"]] for part in ("held_out", "external") for source, row in dice_figures[part].items()]))
    print(f"Kermany: {kermany['empty']} empty masks of {kermany['n']} images"
          + (f" ({', '.join(kermany['empty_files'])})" if kermany["empty"] else ""))
    print(f"time: median {timing['median_ms']:.1f} ms, p90 {timing['p90_ms']:.1f} ms per image\n")
    verdicts = targets_met(figures, TARGETS)
    for key, (target, higher) in TARGETS.items():
        print(f"{key:<36} {figures[key]:>8.3f}  target {'>=' if higher else '<='} {target:g}: "
              f"{'met' if verdicts[key] else 'NOT MET'}")
    if args.sheet:
        sheet = contact_sheet(segmenter, drawn[:args.sheet_n])
        cv2.imwrite(args.sheet, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"contact sheet of {args.sheet_n} random Kermany images: {args.sheet}", file=sys.stderr)
    if args.write_card:
        evaluation = {"headline": figures, "dice": dice_figures, "kermany": kermany, "timing": timing,
                      "pediatric_check": args.pediatric_check or card.get("evaluation", {}).get("pediatric_check")}
        path = write_lung_card(folder, evaluation=evaluation, split_counts=split_counts)
        print(f"wrote the figures to {folder / 'model_card.json'} and {path}", file=sys.stderr)
    return 0 if all(verdicts.values()) else 4


def _cmd_fit_ood(args: argparse.Namespace) -> int:
    from .card import model_dir

    folder = Path(args.model_dir) if args.model_dir else model_dir()
    sources = _sources(args.sources)
    if sources == ("kermany",):
        from .training.classifier import add_ood

        entry = add_ood(folder, Path(args.data))
        print(f"out-of-distribution threshold {entry['threshold']:.2f} "
              f"({100 * entry['quantile']:.0f}th percentile of the validation radiographs); card updated in {folder}")
        return 0
    from .training.domain import fit_radiograph_check

    entry = fit_radiograph_check(folder, sources, limit=args.limit, show_progress=not args.quiet,
                                 command="rxviz " + " ".join(shlex.quote(a) for a in args.argv))
    flagged = ", ".join(f"{s} {v:.1%}" for s, v in entry["held_out_flagged"].items())
    print(f"not-a-radiograph threshold {entry['threshold']:.2f}; held-out patients flagged: {flagged};"
          f" card updated in {folder}")
    return 0


def _cmd_lesson(args: argparse.Namespace) -> int:
    """``rxviz lesson check FOLDER|ZIP``: every problem with its line of lesson.csv; 0 when none."""
    from .lesson import LESSON_FILE, check_lesson, open_lesson

    path = Path(args.lesson)
    source = path.read_bytes() if path.is_file() and path.suffix.lower() == ".zip" else path
    problems = check_lesson(source, decode=not args.quick)
    if problems:
        for line, text in problems:
            print(f"{path}{'/' + LESSON_FILE + ':' + str(line) if line else ''}: {text}")
        print(f"{len(problems)} problem{'s' if len(problems) > 1 else ''}; the lesson cannot be opened until they are mended")
        return 1
    lesson = open_lesson(source, path.name)
    counts = {label: sum(c.label == label for c in lesson.cases) for label in dict.fromkeys(c.label for c in lesson.cases)}
    print(f"{path}: {len(lesson.cases)} cases ({', '.join(f'{n} {label.lower()}' for label, n in counts.items())}),"
          f" {sum(bool(c.note) for c in lesson.cases)} with a note, {sum(bool(c.zone) for c in lesson.cases)} with a zone: fine")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .card import model_dir
    from .training.export import current_copy, export_classifier, export_segmenter
    from .lungs import lung_model_dir

    for folder, export in ((Path(args.model_dir) if args.model_dir else model_dir(), export_classifier),
                           (Path(args.lung_model_dir) if args.lung_model_dir else lung_model_dir(), export_segmenter)):
        entry = None if args.force else current_copy(folder)
        if entry:
            print(f"{folder / entry['file']}: up to date with {entry['source']} (sha256 {entry['sha256'][:16]}…);"
                  " --force writes it again")
            continue
        entry = export(folder)
        print(f"{folder / entry['file']}: outputs {', '.join(entry['outputs'])}; largest difference from"
              f" {entry['source']} {max(entry['max_abs_difference'].values()):.1e}; sha256 {entry['sha256'][:16]}…")
    return 0


def _method_name(name: str) -> str:
    """A method's name from its name or label ("Score-CAM"), for ``--method``."""
    from .explain import get_method

    if name == "auto":
        return name
    try:
        return get_method(name).name
    except ValueError as unknown:
        raise argparse.ArgumentTypeError(str(unknown)) from None


def build_parser() -> argparse.ArgumentParser:
    from .data import data_dir
    from .explain import METHODS
    from .overlay import COLORMAPS, DEFAULT_COLORMAP
    from .training.lungs.data import lung_data_dir
    from .configs import LungTrainConfig, TrainConfig
    from .training.domain import DomainConfig
    from .training.sources import TRAINING_SOURCES

    parser = argparse.ArgumentParser(
        prog="rxviz",
        description="Explainable chest X-ray classifier (teaching and research only, not a medical device).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("predict", help="classify images; optionally write Grad-CAM overlays")
    p.add_argument("images", nargs="+", metavar="IMG", help="JPEG, PNG, TIFF or DICOM files, or folders of them")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line, with the heatmap's lung focus and zones")
    p.add_argument("--cam-dir", metavar="DIR", help="write heatmap overlay PNGs here")
    p.add_argument("--method", default="auto", type=_method_name,
                   help=f"explanation method, by name or label: {', '.join(METHODS)} (default: the model's own,"
                        " Grad-CAM for rxviz's)")
    p.add_argument("--target", default=None, help="class to explain (default: the predicted one)")
    p.add_argument("--alpha", type=float, default=0.4, help="heatmap opacity in the overlay (default: %(default)s)")
    p.add_argument("--colormap", default=DEFAULT_COLORMAP, help=f"e.g. {', '.join(COLORMAPS)} (default: %(default)s)")
    p.add_argument("--no-outline", action="store_true", help="do not draw the lung outline on the overlays")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="score on a local Dask cluster of N worker processes (needs the archive extra)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="score on a running Dask cluster, e.g. tcp://host:8786 (workers must see the same paths)")
    p.set_defaults(func=_cmd_predict)

    p = commands.add_parser("dashboard", help="serve the dashboard with Voila (localhost; another --host needs a"
                                              " token); other options go to Voila")
    p.add_argument("--port", type=int, default=int(os.environ.get("RXVIZ_PORT", "8866")))
    p.add_argument("--host", default=os.environ.get("RXVIZ_HOST", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1, this machine only; RXVIZ_HOST)")
    p.add_argument("--token", default=os.environ.get("RXVIZ_TOKEN") or None,
                   help="what visitors from other machines must give (default: made at start; RXVIZ_TOKEN)")
    p.add_argument("--examples", type=Path, default=None, help="folder of example images for the menu")
    p.set_defaults(func=_cmd_dashboard, voila_options=[])

    p = commands.add_parser("evaluate", help="metrics on a folder laid out like the dataset's test/, or the external"
                            " validation (--external)")
    p.add_argument("folder", metavar="DIR", nargs="?",
                   help="folder holding NORMAL/ and PNEUMONIA/ (with --external: the folder whose false alarms are"
                        " counted, default the dataset's test/)")
    p.add_argument("--external", metavar="EXT", help="external validation on EXT (index.csv + images/, e.g."
                   " ../shared/data/external): answers, warnings, accuracy without a warning, risk-coverage")
    p.add_argument("--risk-plot", metavar="PNG", help="with --external: write the risk-coverage curve here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--calibration-plot", metavar="PNG", help="write a reliability diagram here")
    p.add_argument("--calibrate-half", action="store_true",
                   help="split DIR by patient, fit the temperature on one half, report only the other")
    p.add_argument("--write-card", action="store_true",
                   help="store them as the model card's test metrics (and the temperature)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = commands.add_parser("sanity", help="cascading weight randomisation test of explanation methods")
    p.add_argument("images", nargs="+", metavar="IMG")
    p.add_argument("--method", nargs="+", default=["gradcam"], type=_method_name, help=", ".join(METHODS))
    p.add_argument("--out", default="sanity", help="folder for the cascade figures (default: %(default)s)")
    p.add_argument("--strict", action="store_true", help="exit with status 3 when a method fails")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sanity)

    p = commands.add_parser("explain-eval", help="deletion/insertion faithfulness and sanity over N images")
    p.add_argument("folder", metavar="DIR", help="folder holding NORMAL/ and PNEUMONIA/")
    p.add_argument("--method", nargs="+", default=list(METHODS), type=_method_name,
                   help=f"methods to check, by name or label (default: all of {', '.join(METHODS)})")
    p.add_argument("--n", type=int, default=20, help="number of images, drawn at random (default: %(default)s)")
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="draw only images of these classes, e.g. BACTERIAL VIRAL")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PNG", help="write the mean curves here")
    p.add_argument("--json", action="store_true")
    p.add_argument("--write-card", action="store_true", help="store the table in the model card")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_explain_eval)

    p = commands.add_parser("train", help="train the CNN from scratch and write model + card")
    p.add_argument("--data", default=str(data_dir()), help="dataset root holding train/ (default: %(default)s)")
    p.add_argument("--out", default="models", help="output folder (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--input-size", type=int, default=TrainConfig.input_size)
    p.add_argument("--reframe-variants", type=int, default=TrainConfig.reframe_variants,
                   help="random collimations kept per training image (default: %(default)s)")
    p.add_argument("--reframe-cut", type=float, default=TrainConfig.reframe_cut,
                   help="largest share of the height cut at top or bottom (default: %(default)s)")
    p.add_argument("--reframe-pad", type=float, default=TrainConfig.reframe_pad,
                   help="largest share of the height added at top or bottom (default: %(default)s)")
    p.add_argument("--processing", type=float, default=TrainConfig.processing,
                   help="share of the collimated copies also processed as another hospital's machine would (exposure,"
                        " sharpening, smoothing, equalisation, noise, JPEG, aspect: rxviz.training.processing)"
                        " (default: %(default)s, off)")
    p.add_argument("--consistency", type=float, default=TrainConfig.consistency,
                   help="weight of the loss that asks two framings of an image for the same answer; batches then"
                        " hold pairs, so an epoch costs twice as much (default: %(default)s, off)")
    p.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing,
                   help="share of each target spread over the other classes (default: %(default)s)")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--limit", type=int, default=None, help="use only N training images (smoke test)")
    p.add_argument("--sources", default="kermany",
                   help="training sources, comma-separated, of kermany, siim, jsrt, chestxraycom: more than Kermany"
                        " trains across sites (rxviz.training.sites; Kermany from RXVIZ_DATA, the others from"
                        " RXVIZ_MULTISITE_DATA), and a training source left out is scored on all its images"
                        " (default: %(default)s)")
    p.set_defaults(func=_cmd_train)

    p = commands.add_parser("train-lungs", help="train the lung segmenter on reference masks and write it + card")
    p.add_argument("--data", default=str(lung_data_dir()), help="lung mask folder holding index.csv (default: %(default)s)")
    p.add_argument("--out", default="models/lungs", help="output folder (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=LungTrainConfig.epochs)
    p.add_argument("--seed", type=int, default=LungTrainConfig.seed)
    p.add_argument("--limit", type=int, default=None, help="use only N training images (smoke test)")
    p.set_defaults(func=_cmd_train_lungs)

    p = commands.add_parser("lungs-eval", help="score the lung segmenter against its targets (Dice, Kermany, speed)")
    p.add_argument("--masks", default=str(lung_data_dir()), help="lung mask folder (default: %(default)s)")
    p.add_argument("--kermany", default=str(data_dir()), help="Kermany folder holding train/ and test/ (default: %(default)s)")
    p.add_argument("--lung-model-dir", default=None, help="segmenter folder (default: the bundled one)")
    p.add_argument("--sheet", metavar="PNG", help="write a contact sheet of random Kermany images with outlines")
    p.add_argument("--sheet-n", type=int, default=48, help="images on the contact sheet (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pediatric-check", metavar="TEXT", help="your by-eye verdict on the contact sheet, for the card")
    p.add_argument("--write-card", action="store_true", help="store the figures in the segmenter's card")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_lungs_eval)

    p = commands.add_parser("fit-ood", help="fit the not-a-chest-X-ray detector of a trained model on its"
                            " training sources (~15 min)")
    p.add_argument("--data", default=str(data_dir()), help="with --sources kermany: the dataset root holding train/"
                   " (default: %(default)s)")
    p.add_argument("--sources", default=",".join(TRAINING_SOURCES),
                   help="training sources whose radiographs are in-world, comma-separated (default: %(default)s;"
                        " kermany alone: the classifier's own training split)")
    p.add_argument("--limit", type=int, default=None, help="at most N radiographs per source (smoke test)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fit_ood)

    p = commands.add_parser("fit-domain", help="fit the domain check (frontal view, other hospitals) of a trained"
                            " model on its training split and the external radiographs (~15 min)")
    p.add_argument("--data", default=str(data_dir()), help="dataset root holding train/ (default: %(default)s)")
    p.add_argument("--external", default=None, help="external radiographs (default: $RXVIZ_EXTERNAL_DATA or"
                   " ../shared/data/external)")
    p.add_argument("--calibration-half", metavar="TEST", help="let the calibration half of the test folder TEST"
                   " (the one --calibrate-half fits the temperature on) bound the thresholds too")
    p.add_argument("--epochs", type=int, default=DomainConfig.epochs)
    p.add_argument("--seed", type=int, default=DomainConfig.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fit_domain)

    p = commands.add_parser("export", help="write the ONNX copies of the classifier and the lung segmenter the light"
                            " path runs (needs the export extra)")
    p.add_argument("--lung-model-dir", default=None, help="segmenter folder (default: the bundled one)")
    p.add_argument("--force", action="store_true",
                   help="export a model again even when its card lists an unchanged copy of it")
    p.set_defaults(func=_cmd_export)

    p = commands.add_parser("lesson", help="lessons for a class: 'rxviz lesson check FOLDER' lists every problem of a"
                            " lesson folder (or zip) with its line")
    p.add_argument("action", choices=["check"])
    p.add_argument("lesson", help="a lesson folder (lesson.csv and its radiographs) or a zip of one")
    p.add_argument("--quick", action="store_true", help="check the listing only, without reading each image")
    p.set_defaults(func=_cmd_lesson)

    for sub in commands.choices.values():
        if sub.prog.split()[-1] not in ("train", "train-lungs", "lungs-eval", "lesson"):
            sub.add_argument("--model-dir", default=None, help="model folder (default: the bundled model)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.func is not _cmd_dashboard:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.voila_options = unknown
    args.argv = argv
    try:
        return args.func(args)
    except (InputError, FileNotFoundError, ValueError, NeedsTensorFlow) as exc:
        _say_error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`rxviz predict … | head`): not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
