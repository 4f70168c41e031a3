"""Tasks: publish, bid, award, submit, review."""

from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin


class TaskListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/tasks/list.html"


class TaskCreateView(SignedInRequiredMixin, TemplateView):
    template_name = "console/tasks/new.html"


class TaskDetailView(SignedInRequiredMixin, TemplateView):
    template_name = "console/tasks/detail.html"
