"""The architecture, checked from the import graph (issue 17): the shared libraries sit in layers
and import only downward, no service imports another service, and each service's ``domain/`` is
pure (the contracts, the shared clinical rules, the standard library and a solver; no database,
web framework, broker or process host). Every import counts, at module level or inside a function.

    contracts                      events, codes, the envelope, the topic registry
    eventing, privacy,             database + outbox, consumer, relay, Kafka clients;
    clinical_safety                sealing; the safety screeners and triage
    security                       tokens, roles, the audit trail
    web                            the command layer, refusals, shared routes
    host                           one service process (API + agent + relay + workers)
    intake, planning, scheduling,  the services
    aftercare, operations
"""

import ast
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
LIBRARIES: dict[str, set[str]] = {
    "contracts": set(),
    "eventing": {"contracts"},
    "privacy": {"contracts", "eventing"},
    "clinical_safety": {"contracts", "eventing"},
    "security": {"contracts", "eventing"},
    "web": {"contracts", "eventing", "security", "clinical_safety"},
    "host": {"contracts", "eventing", "security", "web"},
}
SERVICES = {"intake", "planning", "scheduling", "aftercare", "operations"}
DOMAIN_MAY_IMPORT = {"services.contracts", "services.clinical_safety", "ortools"}
STDLIB = {"dataclasses", "datetime", "collections", "enum", "zoneinfo", "itertools", "typing", "statistics",
          "math", "functools", "re", "decimal", "fractions", "operator", "abc", "__future__"}


def imports(path: Path) -> set[str]:
    """The absolute modules ``path`` imports (relative imports resolved within its package)."""
    found: set[str] = set()
    package = ".".join(path.relative_to(SERVICES_DIR.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in SERVICES_DIR.rglob("*.py"):
        parts = path.relative_to(SERVICES_DIR).parts
        if len(parts) < 2:
            continue
        owner = parts[0]
        edges.setdefault(owner, set()).update(
            m.split(".")[1] for m in imports(path) if m.startswith("services.") and m.split(".")[1] != owner)
    return edges


def test_every_package_under_services_is_a_known_library_or_service():
    packages = {p.name for p in SERVICES_DIR.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LIBRARIES) | SERVICES


def test_the_shared_libraries_import_only_the_layers_below_them():
    edges = package_edges()
    for library, allowed in LIBRARIES.items():
        assert edges.get(library, set()) <= allowed, (library, sorted(edges[library] - allowed))


def test_no_service_imports_another_service():
    edges = package_edges()
    for service in SERVICES:
        assert not edges.get(service, set()) & (SERVICES - {service}), (service, edges[service] & SERVICES)


def test_there_is_no_import_cycle_between_packages():
    edges = package_edges()

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, set()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [p for p in edges if reaches(p, p, {p})] == []


def test_each_service_domain_is_pure():
    domains = list(SERVICES_DIR.glob("*/domain/*.py"))
    assert len(domains) >= 10
    for path in domains:
        own = f"services.{path.relative_to(SERVICES_DIR).parts[0]}.domain"
        for module in imports(path):
            allowed = (module.split(".")[0] in STDLIB or module.startswith(own)
                       or any(module == m or module.startswith(f"{m}.") for m in DOMAIN_MAY_IMPORT))
            assert allowed, (str(path.relative_to(SERVICES_DIR)), module)


def test_the_checker_sees_a_violation():
    """The graph is read for real: the host imports web (allowed), and web would not be allowed to
    import the host."""
    edges = package_edges()
    assert "web" in edges["host"] and "host" not in LIBRARIES["web"]
