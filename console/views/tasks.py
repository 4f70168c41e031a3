"""Tasks: publish, bid, award, submit, review (and cancel, withdraw, open a dispute). Each task
page shows the task's state, its deadlines and exactly the actions its state and the viewer allow
(market.selectors.task_actions); every action is one service call and a message."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView

from console.access import SignedInRequiredMixin
from console.forms import apply_market_error
from console.forms_tasks import BidForm, DisputeOpenForm, PublishTaskForm, ReviewForm, SubmitResultForm, TaskFilterForm
from console.paging import page_of, query_without_page
from market.errors import MarketError, NotFound
from market.models import TaskOrder
from market.money import parse_amount
from market.selectors.task_actions import task_actions
from market.selectors.tasks import bid_list, task_detail, task_list
from market.services.disputes import dispute_open
from market.services.results import result_review, result_submit
from market.services.tasks import bid_place, bid_withdraw, task_award, task_cancel, task_publish


class TaskListView(SignedInRequiredMixin, TemplateView):
    template_name = "console/tasks/list.html"

    def get_context_data(self, **kwargs):
        viewer = self.request.viewer
        form = TaskFilterForm(self.request.GET)
        tasks = TaskOrder.objects.none()
        if form.is_valid():
            try:
                tasks = task_list(
                    actor_id=viewer.actor_id, filters=form.filters(viewer.actor_id), is_staff=viewer.is_staff
                )
            except MarketError as exc:
                apply_market_error(form, exc)
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "page_obj": page_of(tasks.order_by("-pk"), self.request),
            "query": query_without_page(self.request),
        }


class TaskCreateView(SignedInRequiredMixin, View):
    template_name = "console/tasks/new.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PublishTaskForm()})

    def post(self, request):
        form = PublishTaskForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                task = task_publish(
                    actor_id=request.viewer.actor_id,
                    title=d["title"],
                    requirements=d["requirements"],
                    budget=parse_amount(d["budget"], d["currency"], field="budget"),
                    currency=d["currency"],
                    ttl_sec=d["ttl_sec"],
                    review_window_sec=d.get("review_window_sec"),
                )
            except MarketError as exc:
                apply_market_error(form, exc)
            else:
                messages.success(request, f"Published the task “{task.title}”: it is open for bids.")
                return redirect("console:task", task_id=task.task_id)
        return render(request, self.template_name, {"form": form}, status=400)


class TaskDetailView(SignedInRequiredMixin, View):
    template_name = "console/tasks/detail.html"
    FORMS = {
        "bid": BidForm,
        "submit": SubmitResultForm,
        "accept": ReviewForm,
        "reject": ReviewForm,
        "dispute": DisputeOpenForm,
    }

    def _task(self, request, task_id):
        viewer = request.viewer
        try:
            return task_detail(task_id=task_id, actor_id=viewer.actor_id, is_staff=viewer.is_staff)
        except NotFound:
            return None

    def _page(self, request, task, status=200, bound=None):
        viewer = request.viewer
        bids = list(bid_list(task=task, actor_id=viewer.actor_id, is_staff=viewer.is_staff).order_by("-pk"))
        forms = {name: form_class() for name, form_class in self.FORMS.items()}
        if bound:
            forms.update(bound)
        context = {
            "task": task,
            "bids": bids,
            "actions": task_actions(task=task, bids=bids, actor_id=viewer.actor_id),
            "forms": forms,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, task_id):
        task = self._task(request, task_id)
        if task is None:
            return render(request, "console/404.html", {"what": "task"}, status=404)
        return self._page(request, task)

    def post(self, request, task_id):
        task = self._task(request, task_id)
        if task is None:
            return render(request, "console/404.html", {"what": "task"}, status=404)
        action = request.POST.get("action", "")
        form = self.FORMS[action](request.POST) if action in self.FORMS else None
        if form is not None and not form.is_valid():
            return self._page(request, task, 400, {action: form})
        try:
            said = self._act(request, task, action, form)
        except MarketError as exc:
            if form is None:
                messages.error(request, exc.message)
            else:
                apply_market_error(form, exc)
                return self._page(request, self._task(request, task_id), 400, {action: form})
        else:
            messages.success(request, said)
        return redirect("console:task", task_id=task.task_id)

    def _act(self, request, task, action, form) -> str:
        actor_id = request.viewer.actor_id
        d = form.cleaned_data if form is not None else {}
        if action == "bid":
            price = parse_amount(d["price"], task.currency, field="price")
            bid_place(
                task_id=task.task_id, actor_id=actor_id, price=price, eta_sec=d["eta_sec"], note=d.get("note") or ""
            )
            return "Bid placed: the creator sees it now."
        if action == "withdraw":
            bid_withdraw(bid_id=request.POST.get("bidId", ""), actor_id=actor_id)
            return "Bid withdrawn."
        if action == "award":
            task_award(task_id=task.task_id, bid_id=request.POST.get("bidId", ""), actor_id=actor_id)
            return "Bid awarded: its price is locked from your balance until you review the result."
        if action == "cancel":
            task_cancel(task_id=task.task_id, actor_id=actor_id)
            return "Task cancelled."
        if action == "submit":
            result_submit(task_id=task.task_id, actor_id=actor_id, summary=d["summary"], artifacts=form.artifacts())
            return "Result submitted: the creator reviews it now."
        if action in ("accept", "reject"):
            result = task.visible_result
            if result is None:
                raise NotFound("no result to review")
            result_review(result_id=result.result_id, actor_id=actor_id, decision=action, reason=d.get("reason") or "")
            return "Result accepted: the payment is released." if action == "accept" else "Result rejected."
        if action == "dispute":
            dispute, merged = dispute_open(task_id=task.task_id, actor_id=actor_id, reason=d["reason"])
            return "Dispute joined." if merged else "Dispute opened: an arbitrator will rule."
        raise NotFound("no such action")
