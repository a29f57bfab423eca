"""`images`: build or list the sample images without a registry."""

from __future__ import annotations

from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("images", help="build or list the sample images (no registry needed)")
    sub = parser.add_subparsers(dest="images_action", metavar="ACTION")
    build = sub.add_parser("build", help="build missing and outdated images (sample_jobs/images, and tests/images with --tests)")
    build.add_argument("folders", nargs="*", type=Path, help="image folders holding image.yaml recipes")
    build.add_argument("--tests", action="store_true", help="also build the test images")
    build.add_argument("--force", action="store_true", help="rebuild images that exist")
    build.set_defaults(func=images_build)
    listing = sub.add_parser("list", help="list the images the recipes make: present, missing, or outdated")
    listing.add_argument("--tests", action="store_true", help="include the test images")
    listing.set_defaults(func=images_list)
    parser.set_defaults(func=images_list, tests=False)


def _folders(args) -> list[Path]:
    from workbench.images import SAMPLE_IMAGES, TEST_IMAGES  # deferred: image builds (YAML, subprocess)

    folders = list(getattr(args, "folders", None) or []) or [SAMPLE_IMAGES]
    if args.tests:
        folders.append(TEST_IMAGES)
    return folders


def images_build(args) -> int:
    from workbench.images import build_all  # deferred: image builds (YAML, subprocess)

    build_all(_folders(args), force=args.force)
    return 0


def images_list(args) -> int:
    from workbench.images import image_states  # deferred: image builds (YAML, subprocess)

    for recipe, state in image_states(_folders(args)):
        print(f"{recipe.name:40} {state:8} {recipe.method:12} {recipe.folder}")
    return 0
