"""The `plitka` command: generate, sheet, share, recolor, measure, serve, studio, train, eval-measure,
eval-recolor, eval-realism, tiny-weights."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from plitka.analysis.evaluate import DEFAULT_REFERENCE
from plitka.bank.bank import HEAP_SIZE as BANK_SIZE
from plitka.bank.bank import HEAPS as BANK_HEAPS
from plitka.bank.bank import SAMPLES as BANK_SAMPLES
from plitka.diffusion.sources import WeightsError
from plitka.governor.gate import BusyError
from plitka.governor.guard import MemoryShortError
from plitka.palette import PALETTE
from plitka.request import (
    ANGLES,
    ENGINES,
    FORM_DEFAULTS,
    MAX_SEED,
    OUTPUT_FORMATS,
    QUALITIES,
    RequestError,
    TileRequest,
    build_request,
)
from plitka.settings import SettingsError, configure_logging, get_settings
from plitka.training.inputs import TRAINING_FIELDS, TrainingInputError

if TYPE_CHECKING:
    from plitka.order import Quantities

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("plitka.serve")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        configure_logging(get_settings())
        return args.handler(args)
    except (RequestError, SettingsError, WeightsError, TrainingInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (MemoryShortError, BusyError) as error:  # the request was fine; this machine could not run it
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plitka", description="Plitka Pro: rubber-crumb tile previews.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    defaults = FORM_DEFAULTS
    generate = commands.add_parser("generate", help="make a tile picture, its preview, colour map and report")
    generate.add_argument("colors", nargs="?", help="the mix, e.g. '60%% red, 40%% white'")
    generate.add_argument("--params-json", help="legacy v4 JSON instead of (or agreeing with) the text")
    generate.add_argument(
        "--angle", type=int, default=defaults["angle"], help=f"one of {', '.join(map(str, ANGLES))}"
    )
    generate.add_argument("--quality", default=defaults["quality"], help=f"one of {', '.join(QUALITIES)}")
    generate.add_argument("--seed", type=int, default=defaults["seed"], help=f"-1 (random) to {MAX_SEED}")
    generate.add_argument(
        "--format",
        dest="output_format",
        default=defaults["output_format"],
        help=", ".join(OUTPUT_FORMATS),
    )
    generate.add_argument("--engine", default=defaults["engine"], help=", ".join(ENGINES))
    generate.add_argument("--out", type=Path, default=Path("out"), help="folder for the four outputs")
    generate.add_argument(
        "--code", help="a share code (plitka share) instead of the mix, angle, seed, quality"
    )
    generate.add_argument(
        "--scene", default="none", help="also lay the surface in a scene: playground, gym, terrace"
    )
    generate.add_argument(
        "--room-photo", type=Path, help="also lay the surface into this photo (docs/scene.md)"
    )
    generate.add_argument(
        "--room-corners",
        help="its floor area: 'x1,y1,...,x4,y4' (far left, far right, near right, near left)",
    )
    generate.add_argument("--room-width", type=float, default=3.0, help="that area's real width in metres")
    generate.set_defaults(handler=_generate)

    sheet = commands.add_parser(
        "sheet", help="make the tile and its one-page A4 spec sheet (PDF) with the quantities to order"
    )
    sheet.add_argument("colors", nargs="?", help="the mix, e.g. '60%% red, 40%% white' or '2:1 red/white'")
    _request_options(sheet, defaults)
    _order_options(sheet)
    sheet.add_argument("--out", type=Path, default=Path("sheet.pdf"), help="the PDF to write")
    sheet.set_defaults(handler=_sheet)

    share = commands.add_parser("share", help="the short share code of a request (seed fixed), and back")
    share.add_argument("colors", nargs="?", help="the mix, e.g. '60%% red, 40%% white'")
    _request_options(share, defaults, engine=False)
    share.set_defaults(handler=_share)

    recolor = commands.add_parser(
        "recolor", help="re-colour a photo of a crumb tile into the mix (the colour lock), with its report"
    )
    recolor.add_argument("image", type=Path)
    recolor.add_argument("colors", help="the mix, e.g. '60%% red, 40%% white'")
    recolor.add_argument(
        "--format", dest="output_format", default=defaults["output_format"], help=", ".join(OUTPUT_FORMATS)
    )
    recolor.add_argument("--out", type=Path, default=Path("out"), help="folder for the four outputs")
    recolor.set_defaults(handler=_recolor)

    match = commands.add_parser("match", help="the 2- and 3-colour mixes whose look is nearest to a colour")
    match.add_argument("target", nargs="?", help="a hex colour, e.g. '#8a3b2c' (or --image and --at)")
    match.add_argument("--image", type=Path, help="pick the target colour from this picture...")
    match.add_argument("--at", help="...at this pixel, 'x,y'")
    match.add_argument("--count", type=int, default=5, help="how many mixes (1-10)")
    match.add_argument("--out", type=Path, help="also write a picture of each mix here (match.png)")
    match.set_defaults(handler=_match)

    measure = commands.add_parser("measure", help="estimate the colour proportions visible in an image")
    measure.add_argument("image", type=Path)
    measure.add_argument(
        "--colors", required=True, help="the colours to look for, e.g. 'red, white' or a mix"
    )
    measure.set_defaults(handler=_measure)

    serve = commands.add_parser("serve", help="run the real Cog HTTP server (coglet) on this checkout")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--studio", type=int, metavar="PORT", help="also serve the studio page on this port")
    serve.add_argument("--train", action="store_true", help="serve train.py:train at /trainings instead")
    serve.set_defaults(handler=_serve)

    studio = commands.add_parser("studio", help="a web page to choose a mix by eye (docs/studio.md)")
    studio.add_argument("--port", type=int, default=8080)
    studio.add_argument("--host", default="127.0.0.1")
    studio.add_argument("--api", help="a running Cog server's URL; neither this nor --replicate: start one")
    studio.add_argument(
        "--replicate", metavar="OWNER/MODEL[:VERSION]", help="use Replicate (token: REPLICATE_API_TOKEN)"
    )
    studio.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    studio.set_defaults(handler=_studio)

    train = commands.add_parser("train", help="train the product's LoRA and TI from labelled photos")
    train.add_argument("data", type=Path, help="a folder (or .zip/.tar) with the photos and labels.csv")
    train.add_argument("--out", type=Path, required=True, help="the weights tar to write")
    for name, spec in TRAINING_FIELDS.items():
        train.add_argument(
            f"--{name.replace('_', '-')}", type=spec.kind, default=None, help=f"{spec.description} "
            f"Default {spec.default}" + (f", {spec.low:g} to {spec.high:g}." if spec.low is not None else ".")
        )  # fmt: skip
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("eval-measure", help="measurement error on a labelled folder")
    evaluate.add_argument("folder", type=Path, nargs="?", default=DEFAULT_REFERENCE)
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(handler=_eval_measure)

    realism = commands.add_parser(
        "eval-realism", help="can a classifier tell the procedural renders from the labelled photos?"
    )
    realism.add_argument("folder", type=Path, nargs="?", default=DEFAULT_REFERENCE)
    realism.add_argument("--json", action="store_true", help="print the figures as JSON")
    realism.add_argument("--seed", type=int, default=0, help="seed of the patch sampling and the folds")
    realism.add_argument(
        "--renderer",
        choices=["settings", "flat", "bank"],
        default="settings",
        help="which renderer draws the renders (default: PLITKA_RENDERER's choice)",
    )
    realism.set_defaults(handler=_eval_realism)

    eval_recolor = commands.add_parser(
        "eval-recolor", help="the colour lock on a labelled folder: MAE before/after, detail kept, seconds"
    )
    eval_recolor.add_argument("folder", type=Path)
    eval_recolor.add_argument("--json", action="store_true", help="print the figures as JSON")
    eval_recolor.set_defaults(handler=_eval_recolor)

    tiny = commands.add_parser(
        "tiny-weights", help="write a tiny random-weight SDXL set and print the settings that use it"
    )
    tiny.add_argument("folder", type=Path)
    tiny.set_defaults(handler=_tiny_weights)

    bank = commands.add_parser(
        "build-bank", help="light crumb heaps with a path tracer into a bank (docs/bank.md)"
    )
    bank.add_argument(
        "--out", type=Path, default=None, help="bank folder (default: PLITKA_BANK_DIR or the shipped one)"
    )
    bank.add_argument("--heaps", type=_bounded(1, 64), default=BANK_HEAPS, help="1-64")
    bank.add_argument("--size", type=_bounded(128, 4096), default=BANK_SIZE, help="pixels across, 128-4096")
    bank.add_argument("--samples", type=_bounded(1, 1024), default=BANK_SAMPLES, help="per pixel, 1-1024")
    bank.add_argument("--first-seed", type=_bounded(0, 999_999), default=1, help="0-999999")
    bank.add_argument("--check", action="store_true", help="only verify the bank's checksums")
    bank.set_defaults(handler=_build_bank)
    return parser


def _request_options(parser: argparse.ArgumentParser, defaults: dict, engine: bool = True) -> None:
    parser.add_argument(
        "--angle", type=int, default=defaults["angle"], help=f"one of {', '.join(map(str, ANGLES))}"
    )
    parser.add_argument("--quality", default=defaults["quality"], help=f"one of {', '.join(QUALITIES)}")
    parser.add_argument("--seed", type=int, default=defaults["seed"], help=f"-1 (random) to {MAX_SEED}")
    if engine:
        parser.add_argument("--engine", default=defaults["engine"], help=", ".join(ENGINES))
    parser.add_argument("--code", help="a share code instead of the mix, angle, seed and quality")


def _order_options(parser: argparse.ArgumentParser) -> None:
    from plitka.order.quantities import AREA_UNITS, DEFAULT_DEPTH_MM, Assumptions

    parser.add_argument("--area", type=float, help="the floor's area (m² unless --area-unit ft2)")
    parser.add_argument("--area-unit", default="m2", help=", ".join(AREA_UNITS))
    parser.add_argument("--depth", type=float, default=DEFAULT_DEPTH_MM, help="wear-course depth, mm")
    parser.add_argument(
        "--density", type=float, default=Assumptions.bulk_density_kg_m3, help="laid bulk density, kg/m³"
    )
    parser.add_argument(
        "--binder", type=float, default=Assumptions.binder_share * 100, help="PU binder, %% of the rubber"
    )
    parser.add_argument("--wastage", type=float, default=Assumptions.wastage * 100, help="wastage, %%")
    parser.add_argument("--bag-kg", type=float, default=Assumptions.bag_kg, help="kg per bag")


def _request_from_args(args: argparse.Namespace) -> TileRequest:
    """The request of a command's arguments: a share code, or the mix and its options."""
    if args.code:
        from plitka.order.share import decode

        if args.colors:
            raise RequestError("code", "give a share code or a mix, not both")
        return replace(decode(args.code), engine=getattr(args, "engine", "auto"))
    return build_request(
        args.colors,
        getattr(args, "params_json", None),
        prompt_max_length=get_settings().prompt_limit(),
        angle=args.angle,
        quality=args.quality,
        seed=args.seed,
        output_format=getattr(args, "output_format", FORM_DEFAULTS["output_format"]),
        engine=getattr(args, "engine", FORM_DEFAULTS["engine"]),
    )


def _order_from_args(args: argparse.Namespace, mix: dict[str, float]) -> Quantities | None:
    from plitka.order import order_for

    if args.area is None:
        return None
    return order_for(
        mix, args.area, args.area_unit, args.depth, args.density, args.binder, args.wastage, args.bag_kg
    )


def _sheet(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from PIL import Image

    from plitka.order.share import code_for_report
    from plitka.order.sheet import sheet_for
    from plitka.service import TileService

    request = _request_from_args(args)
    order = _order_from_args(args, request.mix)
    service = TileService()
    try:
        service.setup()
        generation = service.start(request)
        with tempfile.TemporaryDirectory() as folder:
            outputs = {output.kind: output.path for output in service.generate(generation, Path(folder))}
            with Image.open(outputs["final"]) as picture:
                pdf = sheet_for(generation.report, picture.convert("RGB"), order, datetime.now(UTC).date())
    finally:
        service.teardown()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    report = generation.report
    summary: dict[str, object] = {"sheet": str(args.out), "code": code_for_report(report)}
    summary |= {key: report[key] for key in ("requested", "measured", "seed")}
    if order is not None:
        summary["order"] = order.to_dict()
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _share(args: argparse.Namespace) -> int:
    from plitka.order.share import encode

    request = _request_from_args(args)
    print(encode(request))
    if args.code:
        print(
            json.dumps(
                {"mix": request.mix, "angle": request.angle, "seed": request.seed, "quality": request.quality}
            )
        )
    return 0


def _generate(args: argparse.Namespace) -> int:
    from plitka.scene import build_scene_request, scene_outputs
    from plitka.service import TileService

    if args.code:
        request = _request_from_args(args)
        request = replace(request, output_format=args.output_format)
    else:
        request = build_request(
            args.colors,
            args.params_json,
            prompt_max_length=get_settings().prompt_limit(),
            angle=args.angle,
            quality=args.quality,
            seed=args.seed,
            output_format=args.output_format,
            engine=args.engine,
        )
    scene = build_scene_request(args.scene, args.room_photo, args.room_corners, args.room_width)
    service = TileService()
    try:
        service.setup()
        generation = service.start(request)
        args.out.mkdir(parents=True, exist_ok=True)
        for output in service.generate(generation, args.out):
            print(f"{output.kind:9s} {output.path}")
        if scene.wanted and generation.layout is not None:
            quality = service.settings.image_quality
            for path in scene_outputs(
                scene,
                generation.layout,
                generation.final,
                request.angle,
                args.out,
                request.output_format,
                quality,
            ):
                print(f"{path.stem:9s} {path}")
    finally:
        service.teardown()
    print(json.dumps({key: generation.report[key] for key in ("requested", "measured", "seed", "engine")}))
    return 0


def _recolor(args: argparse.Namespace) -> int:
    from plitka.lock.photo import load_photo
    from plitka.service import TileService

    request = build_request(args.colors, output_format=args.output_format, engine="procedural")
    photo = load_photo(args.image)
    service = TileService()
    generation = service.start(request, photo=photo)
    args.out.mkdir(parents=True, exist_ok=True)
    for output in service.generate(generation, args.out):
        print(f"{output.kind:9s} {output.path}")
    report = generation.report
    print(json.dumps({key: report[key] for key in ("requested", "measured_before_lock", "measured")}))
    return 0


def _match(args: argparse.Namespace) -> int:
    from plitka.lock.photo import load_photo
    from plitka.match import best_mixes, hex_of, match_sheet, parse_hex, picked_pixel

    if (args.target is None) == (args.image is None) or (args.image is None) != (args.at is None):
        raise RequestError("target", "give a hex colour, or --image with --at 'x,y'")
    target = parse_hex(args.target) if args.target else picked_pixel(load_photo(args.image), args.at)
    matches = best_mixes(target, args.count)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        match_sheet(target, matches).save(args.out / "match.png")
    rows = [
        {
            "mix": m.describe(),
            "shares": m.shares,
            "look": hex_of(m.look_rgb),
            "delta_e2000": m.delta_e,
        }
        for m in matches
    ]
    print(json.dumps({"target": hex_of(target), "mixes": rows}, ensure_ascii=False, indent=1))
    return 0


def _measure(args: argparse.Namespace) -> int:
    from PIL import Image

    from plitka.analysis import measure_proportions

    codes = _codes_from_text(args.colors)
    with Image.open(args.image) as image:
        measured = measure_proportions(image.convert("RGB"), codes)
    print(json.dumps(measured))
    return 0


def _codes_from_text(text: str) -> list[str]:
    """Colours to look for: a full mix ('60% red, 40% white') or just names ('red, white')."""
    try:
        return list(build_request(text).mix)
    except RequestError:
        names = [name for name in text.replace(";", ",").split(",") if name.strip()]
        try:
            return list(dict.fromkeys(PALETTE.resolve(name.strip()).code for name in names))
        except ValueError as error:
            raise RequestError("colors", str(error)) from None


def _serve(args: argparse.Namespace) -> int:
    from plitka.supervisor import Supervisor, SupervisorTimes

    if not (ROOT / "predict.py").exists():
        raise SystemExit(f"plitka serve runs from a checkout: {ROOT / 'predict.py'} is missing")
    settings = get_settings()
    env = dict(os.environ, PORT=str(args.port), COG_PREDICT_TYPE_STUB="predict.py:Predictor")
    mode = ["--x-mode", "train"] if args.train else []
    env["COG_TRAIN_TYPE_STUB"] = "train.py:train"
    # Replicate's image sets COG_MAX_CONCURRENCY from cog.yaml; here it follows PLITKA_MAX_CONCURRENCY.
    env.setdefault("COG_MAX_CONCURRENCY", str(settings.max_concurrency))
    # glibc gives threads their own malloc arenas, each keeping its peak: predictions on changing
    # worker threads raised the worker's memory ~130 MiB to a plateau; two arenas keep it flat
    # (bench/README.md). Read at process start, so set here and in cog.yaml, not in Python.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    # coglet starts its worker with the `python` found on PATH: make that this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "serving on %s: coglet 0.23.1 trusts prediction ids in URLs (docs/deploy.md#open-networks);"
            " keep it behind a proxy that allows only [A-Za-z0-9_-] ids",
            args.host,
        )
    if args.studio is not None:  # a child that follows this process (the supervisor) out
        api = f"http://127.0.0.1:{args.port}"
        command = ["studio", "--port", str(args.studio), "--api", api, "--exit-with-parent"]
        subprocess.Popen([sys.executable, "-m", "plitka.cli", *command])
    os.chdir(ROOT)
    command = [sys.executable, "-m", "cog.server.http", "--host", args.host, *mode]
    times = SupervisorTimes(stuck_seconds=settings.stuck_seconds)
    health_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "localhost") else args.host
    return Supervisor(command, env, f"http://{health_host}:{args.port}", times).run()


def _studio(args: argparse.Namespace) -> int:
    from plitka.studio.main import studio_main

    return studio_main(args.host, args.port, args.api, args.replicate, args.exit_with_parent)


def _train(args: argparse.Namespace) -> int:
    from plitka.training import TrainingService, build_config, unpack_archive

    config = build_config(**{name: getattr(args, name) for name in TRAINING_FIELDS})
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data
        if data.is_file():  # an archive: the same checks as the Cog form's input_images
            data = unpack_archive(data, Path(scratch) / "data", field="DATA")
        elif not data.is_dir():
            raise TrainingInputError("DATA", f"{data} is neither a folder nor an archive")
        manifest = TrainingService().train(data, config, args.out.resolve(), progress=print)
    summary = {key: manifest[key] for key in ("base_model", "steps", "loss", "seconds")}
    print(
        json.dumps(
            {"weights": str(args.out.resolve()), **summary, "validation_mae": manifest["validation"]["mae"]}
        )
    )
    return 0


def _eval_measure(args: argparse.Namespace) -> int:
    from plitka.analysis.evaluate import evaluate_reference_set

    if not (args.folder / "labels.csv").exists():
        print(
            f"error: {args.folder} has no labels.csv (expected a folder like ../shared/reference-tiles)",
            file=sys.stderr,
        )
        return 2
    report = evaluate_reference_set(args.folder)
    print(json.dumps(report.to_dict(include_files=False), indent=2) if args.json else report.format_table())
    return 0


def _eval_realism(args: argparse.Namespace) -> int:
    if not (args.folder / "labels.csv").exists():
        print(f"error: {args.folder} has no labels.csv (expected ../shared/reference-tiles)", file=sys.stderr)
        return 2
    missing = [name for name in ("sklearn", "skimage") if importlib.util.find_spec(name) is None]
    if missing:  # eval-only extras, kept out of the Cog image
        print(
            f"error: eval-realism needs {', '.join(missing)}: pip install -r requirements-dev.txt",
            file=sys.stderr,
        )
        return 2
    from plitka.bank import choose_renderer
    from plitka.bank.store import BankError
    from plitka.realism import evaluate_realism
    from plitka.realism.reference import RENDER_SIZE as REALISM_RENDER_SIZE

    settings = get_settings()
    try:
        chosen = choose_renderer(
            settings.renderer if args.renderer == "settings" else args.renderer, settings.bank_dir
        )
    except BankError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"renderer: {chosen.name} ({chosen.reason})", file=sys.stderr)

    def renderer(mix: dict[str, float], seed: int):
        return chosen.render(chosen.layout(mix, REALISM_RENDER_SIZE, seed), angle=0)

    report = evaluate_realism(args.folder, renderer=renderer, seed=args.seed)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_table())
    return 0


def _bounded(low: int, high: int):
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and len(text) <= 7 and low <= int(text) <= high):
            raise argparse.ArgumentTypeError(f"expected a whole number {low}-{high}, got {text[:20]!r}")
        return int(text)

    return parse


def _build_bank(args: argparse.Namespace) -> int:
    from plitka.bank.store import DEFAULT_BANK, BankError, verify

    folder = args.out or get_settings().bank_dir or DEFAULT_BANK
    if args.check:
        try:
            manifest = verify(folder)
        except BankError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{folder}: {len(manifest['heaps'])} heaps, checksums match")
        return 0
    missing = [name for name in ("mitsuba", "trimesh") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"error: build-bank needs {', '.join(missing)}: pip install -r requirements-bank.txt",
            file=sys.stderr,
        )
        return 2
    from tqdm import tqdm

    from plitka.bank.bank import build_bank

    with tqdm(total=args.heaps, unit="heap", desc="build-bank") as bar:
        costs = build_bank(
            folder, args.heaps, args.size, args.samples, args.first_seed, progress=lambda _: bar.update()
        )
    total = sum(path.stat().st_size for path in folder.glob("*.npz"))
    seconds = sum(cost["seconds"] for cost in costs)
    print(f"{folder}: {len(costs)} heaps in {seconds:.0f} s; bank {total / 1e6:.1f} MB")
    return 0


def _eval_recolor(args: argparse.Namespace) -> int:
    from plitka.evaluation.lock import evaluate_recolour

    if not (args.folder / "labels.csv").exists():
        print(f"error: {args.folder} has no labels.csv (expected photos/ and labels.csv)", file=sys.stderr)
        return 2
    report = evaluate_recolour(args.folder)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_table())
    return 0


def _tiny_weights(args: argparse.Namespace) -> int:
    from plitka.diffusion.tiny import write_tiny_weights

    weights = write_tiny_weights(args.folder.resolve())
    for name, value in weights.environment().items():
        print(f"export {name}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
