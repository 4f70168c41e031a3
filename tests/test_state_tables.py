"""Every status of the market moves along its transition table (market/states.py): each model with a
status field has a table reaching every one of its states, and no code outside the tables writes a
status (read from the source: an assignment to `.status`, or `status=` in an update)."""

from __future__ import annotations

import ast
import importlib

import pytest
from django.apps import apps

from market import states
from tests.test_module_layout import project_modules

STATUS_FIELDS = ("status", "state")


def status_models():
    for name in project_modules():  # tables register where their model's writes live (web3api's too)
        importlib.import_module(name)
    for model in apps.get_models():
        if model._meta.app_label not in ("market", "web3api"):
            continue
        for name in STATUS_FIELDS:
            field = next((f for f in model._meta.concrete_fields if f.name == name and f.choices), None)
            if field is not None:
                yield model, field


STATUS_MODELS = list(status_models())


@pytest.mark.parametrize(("model", "field"), STATUS_MODELS, ids=[f"{m.__name__}.{f.name}" for m, f in STATUS_MODELS])
def test_every_status_field_has_a_table_reaching_all_its_states(model, field):
    # when
    table = states.TABLES.get(model)
    # then
    assert table is not None, f"{model.__name__} has no state table"
    assert table.status_field == field.name
    reached = {field.default} | {t.target for t in table.transitions}
    assert reached == {value for value, _ in field.choices}


def status_writes(tree: ast.AST) -> list[int]:
    """Lines that assign a status: `x.status = ...` (also in tuples) or `.update(status=...)`."""
    lines = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in ast.walk(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        lines += [t.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr in STATUS_FIELDS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
            lines += [node.lineno for k in node.keywords if k.arg in STATUS_FIELDS]
    return lines


def test_no_status_is_written_outside_the_transition_tables():
    # when
    found = {
        name: lines
        for name, path in project_modules().items()
        if name != "market.states" and (lines := status_writes(ast.parse(path.read_text())))
    }
    # then
    assert found == {}


def test_the_source_check_sees_a_status_written_by_hand():
    source = "anchor.status, anchor.nonce = 'x', 1\nQ.objects.filter(pk=1).update(status='y')\nrow.statuses = 2\n"
    assert status_writes(ast.parse(source)) == [1, 2]
