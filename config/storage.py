"""The production static files storage: hashed, compressed names, ES module imports included.

The front end is native ES modules loaded without a build step; their relative ``import ... from
"./x.js"`` must point at the hashed copies too, or a browser would keep an old module cached under
its plain name after a release. Django rewrites them only when asked
(``support_js_module_import_aggregation``).
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
