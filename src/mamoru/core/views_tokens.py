"""API token pages (skeleton; completed by the API work)."""

from django.http import HttpRequest, HttpResponse


def token_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
