"""Lists paginate by page: `page`, and `page_size` up to MAX_PAGE_SIZE (README, Conventions)."""

from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

MAX_PAGE_SIZE = 200


class PagePagination(pagination.PageNumberPagination):
    """The default for every list. A larger `page_size` is capped at the maximum; one that is
    not a whole number of at least 1 is a 400 naming it (DRF would quietly ignore it)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    @property
    def page_size_query_description(self) -> str:  # type: ignore[override]  # computed here
        return (
            f"Results per page: {self.page_size} unless given, at most {self.max_page_size} "
            "(a larger value is capped)."
        )

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size or MAX_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("a whole number from 1 to %(most)s") % {"most": self.max_page_size}
                    ]
                }
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters
