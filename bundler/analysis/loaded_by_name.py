"""What first-party code loads by name rather than by an import statement: a distribution's
metadata (`importlib.metadata.version("requests")`), a package's files
(`importlib.resources.files("catalog")`, `pkgutil.get_data`), modules named by strings
(Django's settings, `"module:app"`, logging's `"()"` and `"class"`), and the driver a
database URL names (`"postgresql+pg8000://..."`).

Read from the syntax tree during the import walk (`NameReader` is its visitor); what each
name means (first-party, a distribution, nothing) is decided by the scan and the resolution.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bundler.analysis.imports import Context, literal_text, own_expressions
from bundler.errors import Problem

UseKind = Literal["metadata", "entry-point", "resources", "module", "database"]

_METADATA_MODULES = ("importlib.metadata", "importlib_metadata")
_METADATA_CALLS = frozenset(
    {
        *(
            f"{module}.{call}"
            for module in _METADATA_MODULES
            for call in ("version", "distribution", "metadata", "files", "requires")
        ),
        *(f"{module}.Distribution.from_name" for module in _METADATA_MODULES),
        "pkg_resources.get_distribution",
        "pkg_resources.require",
    }
)
_ENTRY_POINT_CALLS = frozenset(f"{module}.entry_points" for module in _METADATA_MODULES)
_RESOURCE_CALLS = frozenset(
    {
        *(
            f"{module}.{call}"
            for module in ("importlib.resources", "importlib_resources")
            for call in (
                "files",
                "read_text",
                "read_binary",
                "open_text",
                "open_binary",
                "path",
                "contents",
                "is_resource",
            )
        ),
        "pkgutil.get_data",
        "pkg_resources.resource_filename",
        "pkg_resources.resource_string",
        "pkg_resources.resource_stream",
        "pkg_resources.resource_listdir",
    }
)
_RESOURCE_KEYWORDS = ("anchor", "package", "package_or_requirement")
# Settings whose values are module paths even without a dot (`'corsheaders'`), as Django,
# logging's dictConfig and database helpers read them; elsewhere a string must be dotted
SETTINGS_KEYS = frozenset(
    {
        "INSTALLED_APPS",
        "MIDDLEWARE",
        "MIDDLEWARE_CLASSES",
        "ROOT_URLCONF",
        "ENGINE",
        "BACKEND",
        "AUTHENTICATION_BACKENDS",
        "WSGI_APPLICATION",
        "ASGI_APPLICATION",
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_ROUTERS",
        "PASSWORD_HASHERS",
        "SESSION_ENGINE",
        "SESSION_SERIALIZER",
        "MESSAGE_STORAGE",
        "EMAIL_BACKEND",
        "STATICFILES_FINDERS",
        "FILE_UPLOAD_HANDLERS",
        "SIGNING_BACKEND",
        "FORM_RENDERER",
        "LOGGING_CONFIG",
        "TEST_RUNNER",
        "context_processors",
        "loaders",
        "()",
        "class",
        "driver",
    }
)
APPS_KEY = "INSTALLED_APPS"
_MODULE_STRING = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?::[A-Za-z_][\w.]*)?$")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\+([A-Za-z0-9_]+))?://")
_NOT_LITERAL_HINT = (
    "if it names a distribution or a package the function needs, add it to [tool.bundler] include"
)


@dataclass(frozen=True, kw_only=True)
class NameUse:
    """One place where first-party code loads something by name.

    `name` is a distribution (metadata), an entry point's name (entry-point), a package
    (resources), a module path, `module:attr` stripped to the module (module), or a URL's
    `dialect` / `dialect+driver` (database). `written` says how the code spells it.
    """

    kind: UseKind
    name: str
    file: Path
    line: int
    written: str
    optional: bool = False
    single: bool = False  # a settings key: one segment names a module too
    app: bool = False  # a Django app: its package ships whole (migrations, templates)
    colon: bool = False  # `module:attr`: the module part is a module, whole
    group: str | None = None  # entry-point: the group asked for

    @property
    def where(self) -> str:
        """`file:line` of the use, for messages."""
        return f"{self.file.name}:{self.line}"


class NameReader:
    """The import walk's visitor: collects each statement's `NameUse`s into `uses`.

    `package` is the dotted package of the file (`""` for a top-level module), which
    `files(__package__)` and `files(__name__)` name.
    """

    def __init__(self, path: Path, package: str, warnings: list[Problem]) -> None:
        self.path = path
        self.package = package
        self.warnings = warnings
        self.aliases: dict[str, str] = {}
        self.uses: list[NameUse] = []

    def __call__(self, node: ast.stmt, context: Context) -> None:
        """Read one statement: note its import aliases, and the names it loads."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.aliases[top] = top
            return
        if isinstance(node, ast.ImportFrom):
            if node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return  # a docstring
        key = _statement_key(node)
        for expression in own_expressions(node):
            self._walk(expression, key, context)

    def _walk(self, expression: ast.AST, key: str | None, context: Context) -> None:
        """Every string and call in `expression`, each with the settings key it is under."""
        stack: list[tuple[ast.AST, str | None]] = [(expression, key)]
        while stack:
            node, under = stack.pop()
            if isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    self._string(node.value, under, node.lineno, context)
                continue
            if isinstance(node, ast.JoinedStr):
                head = node.values[0] if node.values else None
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    self._url(head.value, node.lineno, context)
                continue
            # children pushed last first: the uses come in source order
            if isinstance(node, ast.Dict):
                for name, value in reversed(list(zip(node.keys, node.values, strict=True))):
                    inner = name.value if _is_str(name) else under  # type: ignore[union-attr]
                    stack.append((value, inner))
                continue
            if isinstance(node, ast.Call):
                under = self._call(node, under, context)
                stack.extend((k.value, k.arg or under) for k in reversed(node.keywords))
                stack.extend((a, under) for a in reversed(node.args))
                stack.append((node.func, None))
                continue
            stack.extend((child, under) for child in reversed(list(ast.iter_child_nodes(node))))

    def _call(self, call: ast.Call, under: str | None, context: Context) -> str | None:
        """Record what `call` loads; the key its arguments are under."""
        name = self._qualified(call.func)
        first = call.args[0] if call.args else None
        if name in _METADATA_CALLS:
            self._named(call, "metadata", first, name, context)
        elif name in _ENTRY_POINT_CALLS:
            self._entry_point(call, name, context)
        elif name in _RESOURCE_CALLS:
            keyword = next((k.value for k in call.keywords if k.arg in _RESOURCE_KEYWORDS), None)
            self._named(call, "resources", first or keyword, name, context)
        elif name is not None and name.split(".")[-2:] == ["URL", "create"]:
            driver = first or next((k.value for k in call.keywords if k.arg == "drivername"), None)
            text = literal_text(driver)
            if text is not None:
                self._url(f"{text}://", call.lineno, context)
        if isinstance(first, ast.Constant) and first.value in SETTINGS_KEYS:
            return str(first.value)  # os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")
        return under

    def _named(
        self, call: ast.Call, kind: UseKind, argument: ast.expr | None, name: str, context: Context
    ) -> None:
        written = f"{name.rsplit('.', 1)[-1]}(...)"
        text = literal_text(argument)
        if text is None and isinstance(argument, ast.Name):
            if argument.id in ("__name__", "__package__") and kind == "resources":
                text = self.package or None
                if text is None:
                    return  # a top-level module's own folder: the function's files
            elif argument.id in self.aliases and kind == "resources":
                text = self.aliases[argument.id]  # files(catalog), an imported module
        if text is None:
            self.warnings.append(
                Problem(
                    f"{written}: cannot tell which {_WHAT[kind]} it reads: its argument is "
                    "not a literal",
                    file=self.path,
                    line=call.lineno,
                    hint=_NOT_LITERAL_HINT,
                    severity="warning",
                )
            )
            return
        if kind == "metadata" and name.startswith("pkg_resources"):
            text = re.split(r"[\s\[=<>!~;]", text, maxsplit=1)[0]  # require("x>=1")
        written = f'{name.rsplit(".", 1)[-1]}("{text}")'
        self.uses.append(
            NameUse(
                kind=kind,
                name=text,
                file=self.path,
                line=call.lineno,
                written=written,
                optional=context.optional,
            )
        )

    def _entry_point(self, call: ast.Call, name: str, context: Context) -> None:
        keywords = {k.arg: literal_text(k.value) for k in call.keywords if k.arg}
        wanted = keywords.get("name")
        if wanted:
            group = keywords.get("group")
            written = f'entry_points(name="{wanted}")'
            use = NameUse(
                kind="entry-point",
                name=wanted,
                file=self.path,
                line=call.lineno,
                written=written,
                optional=context.optional,
                group=group,
            )
            self.uses.append(use)

    def _string(self, text: str, key: str | None, line: int, context: Context) -> None:
        if "://" in text:
            self._url(text, line, context)
            return
        if len(text) > 200 or not _MODULE_STRING.match(text):
            return
        if text == key:
            return  # setdefault("DJANGO_SETTINGS_MODULE", ...): the key, not its value
        module, colon, _attribute = text.partition(":")
        single = key in SETTINGS_KEYS
        if "." not in module and not colon and not single:
            return  # a bare word: a module only where a setting says so
        shown = f"{key} {text!r}" if key else repr(text)
        self.uses.append(
            NameUse(
                kind="module",
                name=module,
                file=self.path,
                line=line,
                written=shown,
                optional=context.optional,
                single=single,
                app=key == APPS_KEY,
                colon=bool(colon),
            )
        )

    def _url(self, text: str, line: int, context: Context) -> None:
        found = _URL.match(text)
        if found is None:
            return
        dialect, driver = found.group(1).lower(), found.group(2)
        scheme = f"{dialect}+{driver.lower()}" if driver else dialect
        self.uses.append(
            NameUse(
                kind="database",
                name=scheme,
                file=self.path,
                line=line,
                written=f"{scheme}://",
                optional=context.optional,
            )
        )

    def _qualified(self, func: ast.expr) -> str | None:
        """`metadata.version` -> `importlib.metadata.version`, by the file's imports."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in self.aliases:
            return None
        return ".".join([self.aliases[func.id], *reversed(parts)])


_WHAT: dict[UseKind, str] = {
    "metadata": "distribution's metadata",
    "entry-point": "entry point",
    "resources": "package's files",
    "module": "module",
    "database": "database driver",
}


def _is_str(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _statement_key(node: ast.stmt) -> str | None:
    """The name a statement assigns (`INSTALLED_APPS = [...]`, `os.environ["X"] = ...`)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    for target in targets:
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Subscript) and _is_str(target.slice):
            return str(target.slice.value)  # type: ignore[attr-defined]
    return None
