"""Version folders of an export base, the layout TF Serving watches.

`<export_base>/<integer version>/` holds one SavedModel each. TF Serving loads
only all-digit directory names as versions, so the temporary directories an
export writes into (`.tmp-export-*`) are never seen as (half) a model.
"""

import os
import re

from pixel_rnn_tf import files

# Never all digits: a directory with this prefix is never (half) a version.
TEMP_PREFIX = ".tmp-export-"
_VERSION = re.compile(r"^\d+$")


def versions(export_base):
    """The integer versions under `export_base` (all-digit directory names), sorted.

    Temporary directories (`.tmp-export-*`, whole or left by a killed
    export) are never versions, for this function as for TF Serving.
    """
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(name)
        for name in os.listdir(export_base)
        if _VERSION.match(name) and os.path.isdir(os.path.join(export_base, name))
    )


def next_version(export_base):
    """One more than the highest version under `export_base`, or 1."""
    existing = versions(export_base)
    return existing[-1] + 1 if existing else 1


def claim_next_version(saved_model, export_base):
    """Renames `saved_model` onto the lowest free version above the existing ones."""
    version = next_version(export_base)
    while True:
        path = os.path.join(export_base, str(version))
        try:
            files.rename_no_replace(saved_model, path)
            return path
        except FileExistsError:  # A concurrent export took it: try the next one.
            version = max(version + 1, next_version(export_base))
