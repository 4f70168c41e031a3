"""The 403 page: says why, never a stack or a redirect loop."""

from django.shortcuts import render


def forbidden(request, exception=None):
    reason = str(exception) if exception and str(exception) else "you may not open this page"
    return render(request, "console/403.html", {"reason": reason}, status=403)


def csrf_failure(request, reason=""):
    """A form posted without its CSRF token (an old page, or another site): the 403 page, in words."""
    return render(
        request,
        "console/403.html",
        {"reason": "the form had expired or came from elsewhere; reload the page and send it again"},
        status=403,
    )
