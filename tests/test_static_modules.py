"""The production static files storage and the front end's ES modules.

The browser resolves a module's ``import ... from "./b.js"`` itself; with hashed file names
(far-future caching) the import must name the hashed copy, or a release would leave browsers running
an old ``b.js`` under its plain name. Only a tiny static tree is collected: the whole one takes minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command


def test_production_storage_points_module_imports_at_the_hashed_files(tmp_path, settings):
    source = tmp_path / "src" / "js"
    (source / "party-map").mkdir(parents=True)
    (source / "entry.js").write_text(
        'import { b } from "./party-map/b.js";\nimport {\n  c,\n} from "../js/c.js";\nb(c);\n'
    )
    (source / "party-map" / "b.js").write_text("export function b() {}\n")
    (source / "c.js").write_text("export const c = 1;\n")
    settings.STATICFILES_DIRS = [tmp_path / "src"]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "root"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"}}

    call_command("collectstatic", "--noinput", "-v", "0")

    paths = json.loads((tmp_path / "root" / "staticfiles.json").read_text())["paths"]
    entry = (tmp_path / "root" / paths["js/entry.js"]).read_text()
    assert f'from "./party-map/{Path(paths["js/party-map/b.js"]).name}";' in entry
    assert f'from "../js/{Path(paths["js/c.js"]).name}";' in entry  # an import over several lines too
