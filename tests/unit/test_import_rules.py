"""Import rules of docs/architecture.md, enforced (issues 17 and 26): no import circle among
the project's modules, the domain core imports nothing of the project but itself, services
no adapter, actions no SQL, shared infrastructure nothing above it, process entry points
nothing but the CLI, and bot/'s root only the modules that wire the application."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT

PACKAGES = ("bot", "actions", "nlu")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules ``path`` imports at module level or inside functions (both count:
    a deferred import only hides a circle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles_among_project_modules() -> None:
    edges = {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in graph().items()
    }
    # A package's __init__ re-exporting its own modules is not a circle of responsibility.
    assert circles(edges) == []


def test_the_domain_core_imports_nothing_of_the_project_outside_it() -> None:
    outside = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith("bot.domain")
        for target in targets
        if not target.startswith("bot.domain") and target != "bot"
    }
    assert outside == set()


def crossings(inside: str, forbidden: tuple[str, ...]) -> set[tuple[str, str]]:
    return {
        (name, target)
        for name, targets in graph().items()
        if name == inside or name.startswith(inside + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    }


def test_services_depend_on_no_adapter() -> None:
    """Use cases know the domain, the database and their ports (bot/services/courier.py),
    never the HTTP gateway, the channel adapters, the CLI, Rasa actions or the process-wide
    context: those call services, not the other way round."""
    adapters = (
        "bot.gateway",
        "bot.channels",
        "bot.cli",
        "bot.app_context",
        "bot.bootstrap",
        "bot.processes",
        "bot.conversation",
        "actions",
        "nlu",
    )
    allowed_parsers = {(n, t) for n, t in crossings("bot.services", ("nlu.parsing",))}
    assert crossings("bot.services", adapters) - allowed_parsers == set()


def test_actions_do_no_sql() -> None:
    """Actions translate between Rasa and services: the database is the services' business."""
    assert crossings("actions", ("bot.db",)) == set()
    sql = [
        path.name
        for path in (PROJECT_ROOT / "actions").glob("*.py")
        if any(
            isinstance(node, ast.Import | ast.ImportFrom)
            and any(
                (getattr(node, "module", None) or alias.name).split(".")[0] == "sqlalchemy"
                for alias in node.names
            )
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert sql == []


#: What talks to people, and the one module that assembles it (issue 26).
ASSEMBLED = {"build_outbox", "ConversationRouter", "ReminderDispatcher", "HandoffRelay"}
COMPOSITION_ROOT = "bot.bootstrap"


def assembling_calls(tree: ast.AST) -> set[str]:
    """Calls that build one of ASSEMBLED other than through ``bootstrap.<builder>``."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ASSEMBLED:
            found.add(func.id)
        elif isinstance(func, ast.Attribute) and func.attr in ASSEMBLED:
            through_root = isinstance(func.value, ast.Name) and func.value.id == "bootstrap"
            if not through_root:
                found.add(func.attr)
    return found


def test_the_outbox_router_dispatcher_and_relay_are_assembled_only_in_the_composition_root() -> (
    None
):
    """The gateway, the poller, the worker, the action server and the CLI get them from
    bot/bootstrap.py (``AppContext.handoff_relay`` is the relay's one constructor call), so
    no process can wire them differently."""
    builders = {COMPOSITION_ROOT, "bot.app_context", "bot.channels.factory"}
    calls = {
        (name, call)
        for name, path in project_modules().items()
        if name not in builders and not name.startswith(("bot.services", "bot.conversation"))
        for call in assembling_calls(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert calls == set()


#: Every layer above shared infrastructure: what bot/infra may never import.
LAYERS_ABOVE_INFRA = (
    "bot.services",
    "bot.understanding",
    "bot.db",
    "bot.gateway",
    "bot.channels",
    "bot.cli",
    "bot.processes",
    "bot.app_context",
    "bot.bootstrap",
    "bot.conversation",
    "bot.messages",
    "actions",
)


def test_shared_infrastructure_depends_on_no_layer_above_it() -> None:
    """Settings, encryption, hashes, log redaction, shared state and metrics are used by
    every layer, so they may lean on the pure domain and the standard-library parsers of
    nlu/ (log redaction) only: never on a use case, an adapter or a process."""
    assert crossings("bot.infra", LAYERS_ABOVE_INFRA) == set()


def test_only_the_command_line_starts_processes() -> None:
    """Process entry points (bot/processes: action server, worker, `sadar run`, the
    supervisor) sit at the top: the CLI starts them, and nothing else imports them (a
    service or an adapter that did would drag a whole process into its own)."""
    importers = {
        name
        for name, targets in graph().items()
        if any(t == "bot.processes" or t.startswith("bot.processes.") for t in targets)
        and not (name.startswith("bot.processes") or name.startswith("bot.cli"))
    }
    assert importers == set()


def test_bot_has_no_loose_modules_but_its_roots() -> None:
    """bot/'s root holds only what wires or speaks for the whole application: the
    composition root and its context, the conversation router and the message catalogue.
    Everything else lives in a package named for what it holds."""
    loose = {path.name for path in (PROJECT_ROOT / "bot").glob("*.py")}
    assert loose == {
        "__init__.py",
        "app_context.py",
        "bootstrap.py",
        "conversation.py",
        "messages.py",
    }
