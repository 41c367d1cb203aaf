"""Every list of the API is paginated: `page` (from 1) and `page_size` (capped).

A page is answered as `count` (rows over every page), `next` and `previous` (absolute
URLs, or null) and the page's rows. A page number that is not a whole number of at least 1,
or past the last page, is a 400 naming `page`; a `page_size` above the endpoint's maximum is
cut down to it.
"""

from django.core.paginator import Paginator
from rest_framework.utils.urls import replace_query_param

from web.api.params import BadParam, positive_int

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


def paginate(request, queryset, maximum: int = MAX_PAGE_SIZE) -> tuple[list, dict]:
    """Return the rows of the requested page, and its `count`, `next` and `previous`."""
    params = request.query_params
    size = min(positive_int(params, "page_size", DEFAULT_PAGE_SIZE), maximum)
    number = positive_int(params, "page", 1)
    paginator = Paginator(queryset, size)
    if number > paginator.num_pages:
        raise BadParam("page", f"{number} is past the last page, {paginator.num_pages}")
    page = paginator.page(number)
    url = request.build_absolute_uri()
    return list(page.object_list), {
        "count": paginator.count,
        "next": replace_query_param(url, "page", number + 1) if page.has_next() else None,
        "previous": replace_query_param(url, "page", number - 1) if number > 1 else None,
    }
