"""What every form of the project shares."""

from __future__ import annotations

from typing import Any

from django import forms


class NoSilentCutMixin:
    """Length limits without silent data loss.

    Django renders a CharField's ``max_length`` as the input's ``maxlength``, and browsers then cut
    what is typed or pasted at the limit without a word. Here the limit travels as ``data-max-length``
    instead: static/js/length-limit.js shows a message as soon as the text is too long, and the
    field's own validation refuses it on the server with a message in the reader's language.
    """

    fields: dict[str, forms.Field]  # the form's, as the mixin goes before a Django form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            limit = field.widget.attrs.pop("maxlength", None)
            if limit is not None:
                field.widget.attrs["data-max-length"] = limit
