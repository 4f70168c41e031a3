"""The 403 page: says why, never a stack or a redirect loop."""

from django.shortcuts import render


def forbidden(request, exception=None):
    reason = str(exception) if exception and str(exception) else "you may not open this page"
    return render(request, "console/403.html", {"reason": reason}, status=403)
