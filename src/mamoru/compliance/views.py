from django.http import HttpRequest, HttpResponse


def finding_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
