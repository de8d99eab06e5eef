"""Read the SemEval-2018 Task 7 abstracts (XML with nested ``<entity>`` tags) and relation files.

An abstract file looks like::

    <doc>
    <text id="H01-1001"><title>...</title>
    <abstract> ... <entity id="H01-1001.5">information retrieval techniques</entity> ... </abstract>
    </text> ...
    </doc>

Other elements inside a title or abstract are transparent (their text is kept).
Entities may be nested (the automatically annotated 1.2 data has ``<entity>`` inside
``<entity>``). We parse with :mod:`xml.parsers.expat`, which reports line numbers, and keep
every entity as a character span of the document text (title, a newline, abstract).

A relation line is ``TYPE(ENT1,ENT2)`` or ``TYPE(ENT1,ENT2,REVERSE)``; ``ENT1`` comes first in
the text and ``REVERSE`` says that the relation's first argument is the second entity. Key
files without a label, ``(ENT1,ENT2[,REVERSE])``, are read too (label ``None``).

Malformed input raises :class:`SemEvalFormatError`, naming the file and the line.

:func:`load_split` and :func:`load_all` read the parts of the data set ``semeval2018-task7``
into :class:`Split` objects; :func:`subsample_docs` and :func:`hold_out` draw abstracts from a
split at random.

Example
-------
>>> from repro.nlp import reader
>>> reader.parse_relation("USAGE(H01-1001.5,H01-1001.7,REVERSE)").line()
'USAGE(H01-1001.5,H01-1001.7,REVERSE)'
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ..errors import ReproError

RELATION_TYPES = ("USAGE", "RESULT", "MODEL-FEATURE", "PART_WHOLE", "TOPIC", "COMPARE")
#: relation types without a direction (REVERSE is meaningless for them)
SYMMETRIC = frozenset({"COMPARE"})
ENTITY_ID = re.compile(r"^([A-Z0-9]+-[0-9]+)\.([0-9]+)$")
_REL_LINE = re.compile(r"^\s*([A-Z][A-Z_\-]*)?\(\s*([^,()\s]+)\s*,\s*([^,()\s]+)\s*(?:,\s*(REVERSE)\s*)?\)\s*$")


class SemEvalFormatError(ReproError, ValueError):
    """A task file that does not follow the task's format (message names file and line)."""


@dataclass(frozen=True)
class Entity:
    """One annotated entity of a document.

    Attributes
    ----------
    id : str
        ``<document id>.<n>``, e.g. ``H01-1001.5``.
    text : str
        Its text.
    start, end : int
        Character offsets into :attr:`Document.text` (end exclusive).
    """

    id: str
    text: str
    start: int  # character offsets into Document.text, end exclusive
    end: int

    @property
    def number(self) -> int:
        """The entity's number within its document (``5`` for ``H01-1001.5``)."""
        return entity_number(self.id)


@dataclass
class Document:
    """One abstract: its text (title, a newline, abstract) and its entities.

    Attributes
    ----------
    id : str
        Document id, e.g. ``H01-1001``.
    text : str
        Title, a newline, abstract.
    entities : dict of str to Entity
        By entity id, in file order.
    abstract_start : int
        Offset where the abstract begins.
    """

    id: str
    text: str
    entities: dict[str, Entity] = field(default_factory=dict)
    abstract_start: int = 0  # offset where the abstract begins (after the title and a newline)

    def ordered_entities(self) -> list[Entity]:
        """Entities in text order (outer before nested entities that start at the same offset).

        Returns
        -------
        list of Entity
        """
        return sorted(self.entities.values(), key=lambda e: (e.start, -e.end, e.number))


@dataclass(frozen=True)
class Relation:
    """One line of a relation file; ``e1`` precedes ``e2`` in the text.

    Attributes
    ----------
    label : str or None
        One of :data:`RELATION_TYPES` (``None`` in an unlabelled key).
    e1, e2 : str
        Entity ids, in text order.
    reverse : bool
        The relation's first argument is ``e2``.
    """

    label: str | None
    e1: str
    e2: str
    reverse: bool = False

    @property
    def pair(self) -> tuple[str, str]:
        """``(e1, e2)``."""
        return (self.e1, self.e2)

    @property
    def doc_id(self) -> str:
        """The id of the document that holds both entities."""
        return self.e1.rsplit(".", 1)[0]

    def line(self) -> str:
        """The relation in the official submission format."""
        rev = ",REVERSE" if self.reverse else ""
        return f"{self.label or ''}({self.e1},{self.e2}{rev})"


def entity_number(entity_id: str) -> int:
    """The number of an entity within its document.

    Parameters
    ----------
    entity_id : str
        E.g. ``H01-1001.5``.

    Returns
    -------
    int
        E.g. ``5``.

    Raises
    ------
    ValueError
        ``entity_id`` is not an entity id.
    """
    m = ENTITY_ID.match(entity_id)
    if not m:
        raise ValueError(f"not an entity id: {entity_id!r}")
    return int(m.group(2))


# ------------------------------------------------------------------------------- abstracts
class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.docs: dict[str, Document] = {}
        self.doc: Document | None = None
        self.parts: list[str] = []
        self.pos = 0
        self.section: str | None = None
        self.stray: str | None = None  # an empty <title>/<abstract> outside any <text>
        self.open: list[tuple[str, int, int]] = []  # (entity id, start, line)
        self.parser = expat.ParserCreate("UTF-8")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.chars

    def fail(self, msg: str):
        raise SemEvalFormatError(f"{self.path}, line {self.parser.CurrentLineNumber}: {msg}")

    def add(self, s: str):
        self.parts.append(s)
        self.pos += len(s)

    def start(self, tag, attrs):
        if tag == "text":
            if self.doc is not None:
                self.fail("<text> inside another <text>")
            did = attrs.get("id")
            if not did:
                self.fail("<text> without an id attribute")
            if did in self.docs:
                self.fail(f"document id {did} appears twice")
            self.doc = Document(did, "")
            self.parts, self.pos = [], 0
        elif tag in ("title", "abstract"):
            if self.doc is None:  # the 1.2 training file has one stray, empty <abstract></abstract>
                self.stray = tag
                return
            if self.section is not None:
                self.fail(f"<{tag}> inside <{self.section}>")
            if tag == "abstract":
                if self.pos:
                    self.add("\n")
                self.doc.abstract_start = self.pos
            self.section = tag
        elif self.stray:
            self.fail(f"<{tag}> inside <{self.stray}> outside <text>")
        elif tag == "entity":
            if self.section is None:
                self.fail("<entity> outside <title>/<abstract>")
            eid = attrs.get("id")
            if not eid:
                self.fail("<entity> without an id attribute")
            m = ENTITY_ID.match(eid)
            if not m or m.group(1) != self.doc.id:
                self.fail(f"entity id {eid!r} does not belong to document {self.doc.id} (expected {self.doc.id}.<n>)")
            if eid in self.doc.entities or any(o[0] == eid for o in self.open):
                self.fail(f"entity id {eid} appears twice")
            self.open.append((eid, self.pos, self.parser.CurrentLineNumber))
        elif tag != "doc" and self.section is None:
            self.fail(f"unexpected element <{tag}> outside <title>/<abstract>")
        # any other element inside a title or abstract (e.g. an empty <SectionTitle/>) is transparent

    def end(self, tag):
        if tag == "entity":
            eid, start, _ = self.open.pop()
            text = "".join(self.parts)[start:self.pos]
            if not text.strip():
                self.fail(f"entity {eid} is empty")
            self.doc.entities[eid] = Entity(eid, text, start, self.pos)
        elif tag in ("title", "abstract"):
            if self.stray:
                self.stray = None
            self.section = None
        elif tag == "text":
            self.doc.text = "".join(self.parts)
            self.docs[self.doc.id] = self.doc
            self.doc = None

    def chars(self, data):
        if self.stray and data.strip():
            self.fail(f"text {data.strip()[:30]!r} in a <{self.stray}> outside <text>")
        if self.section is not None:
            self.add(data)


def read_abstracts(path) -> dict[str, Document]:
    """Read one abstracts file.

    Parameters
    ----------
    path : str or Path
        An XML abstracts file of the task.

    Returns
    -------
    dict of str to Document
        ``{document id: Document}`` in file order.

    Raises
    ------
    SemEvalFormatError
        Not well-formed XML, unknown elements, entities outside a title/abstract, missing or
        duplicate ids, empty entities — the message names the file and line.
    """
    path = Path(path)
    b = _Builder(str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SemEvalFormatError(f"{path}: cannot read ({exc})") from None
    try:
        b.parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise SemEvalFormatError(f"{path}, line {exc.lineno}: not well-formed XML "
                                 f"({expat.ErrorString(exc.code)}, column {exc.offset + 1})") from None
    if not b.docs:
        raise SemEvalFormatError(f"{path}: no <text> documents found")
    return b.docs


# ------------------------------------------------------------------------------- relations
def parse_relation(line: str, where: str = "<string>") -> Relation:
    """Parse one relation line (see the module docstring).

    Parameters
    ----------
    line : str
        ``TYPE(ENT1,ENT2[,REVERSE])`` or ``(ENT1,ENT2[,REVERSE])``.
    where : str
        Named in error messages (file and line).

    Returns
    -------
    Relation

    Raises
    ------
    SemEvalFormatError
        Not a relation line, an unknown type, a malformed entity id, entities of two documents
        or not in text order.
    """
    m = _REL_LINE.match(line)
    if not m:
        raise SemEvalFormatError(f"{where}: not a relation line 'TYPE(ENT1,ENT2[,REVERSE])': {line.strip()!r}")
    label, e1, e2, rev = m.groups()
    if label is not None and label not in RELATION_TYPES:
        raise SemEvalFormatError(f"{where}: unknown relation type {label!r} (allowed: {', '.join(RELATION_TYPES)})")
    for e in (e1, e2):
        if not ENTITY_ID.match(e):
            raise SemEvalFormatError(f"{where}: {e!r} is not an entity id like H01-1001.5")
    if e1.rsplit(".", 1)[0] != e2.rsplit(".", 1)[0]:
        raise SemEvalFormatError(f"{where}: entities {e1} and {e2} are in different documents")
    if entity_number(e1) >= entity_number(e2):
        raise SemEvalFormatError(f"{where}: arguments must be in text order (ascending ids), got {e1},{e2}")
    return Relation(label, e1, e2, rev is not None)


def read_relations(path, allow_duplicates: bool = False) -> list[Relation]:
    """Read a relation (key or submission) file; blank lines are skipped.

    Parameters
    ----------
    path : str or Path
        The file.
    allow_duplicates : bool
        Accept a second line for the same entity pair (an error in the official scorer).

    Returns
    -------
    list of Relation
        In file order.

    Raises
    ------
    SemEvalFormatError
        Unreadable file, a malformed line (named by its number), or a duplicate pair.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SemEvalFormatError(f"{path}: cannot read ({exc})") from None
    except UnicodeDecodeError as exc:
        raise SemEvalFormatError(f"{path}: not UTF-8 text ({exc})") from None
    out, seen = [], {}
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        r = parse_relation(line, f"{path}, line {i}")
        if r.pair in seen and not allow_duplicates:
            raise SemEvalFormatError(f"{path}, line {i}: entity pair {r.e1},{r.e2} already given on line {seen[r.pair]}")
        seen.setdefault(r.pair, i)
        out.append(r)
    return out


def write_relations(path, relations) -> Path:
    """Write relations in the official format, one per line, atomically.

    Parameters
    ----------
    path : str or Path
        The file to write.
    relations : iterable of Relation

    Returns
    -------
    Path
        The written file.
    """
    from ..io import write_text
    return write_text(path, "".join(r.line() + "\n" for r in relations))


def check_entities(relations, docs: dict[str, Document], where: str = "relations") -> None:
    """Check that every entity of ``relations`` exists in ``docs``.

    Parameters
    ----------
    relations : iterable of Relation
    docs : dict of str to Document
    where : str
        Named in the error message.

    Raises
    ------
    SemEvalFormatError
        A relation names an entity that is not in the abstracts.
    """
    for r in relations:
        for e in (r.e1, r.e2):
            d = docs.get(r.doc_id)
            if d is None or e not in d.entities:
                raise SemEvalFormatError(f"{where}: {r.line()} names entity {e}, which is not in the abstracts")


# ------------------------------------------------------------------------------- the data set
DATASET = "semeval2018-task7"
FILES = {
    ("train", "1.1"): ("train/1.1.text.xml", "train/1.1.relations.txt"),
    ("train", "1.2"): ("train/1.2.text.xml", "train/1.2.relations.txt"),
    ("test", "1.1"): ("test/1.1/text.xml", "test/1.1/relations.txt"),
    ("test", "1.2"): ("test/1.2/text.xml", "test/1.2/relations.txt"),
    ("test", "2"): ("test/2/text.xml", "test/2/relations.txt"),
}


@dataclass
class Split:
    """The abstracts and relations of one part of the data set.

    Attributes
    ----------
    name : str
        E.g. ``"train 1.1"``.
    docs : dict of str to Document
    relations : list of Relation
    """

    name: str
    docs: dict[str, Document]
    relations: list[Relation]


def load_split(part: str, subtask: str) -> Split:
    """Load one part of the data set.

    Parameters
    ----------
    part : {"train", "test"}
    subtask : {"1.1", "1.2", "2"}
        ``"2"`` only for ``"test"``.

    Returns
    -------
    Split

    Raises
    ------
    repro.errors.ReproError
        No such part; the data set is missing or corrupted (:mod:`repro.data`).
    SemEvalFormatError
        A file does not follow the task's format.
    """
    from .. import data
    if (part, subtask) not in FILES:
        raise ReproError(f"no {part} data for subtask {subtask!r}; known: {sorted(FILES)}")
    xml, rel = FILES[(part, subtask)]
    docs = read_abstracts(data.locate(DATASET, xml))
    rels = read_relations(data.locate(DATASET, rel))
    check_entities(rels, docs, f"{part} {subtask} relations")
    return Split(f"{part} {subtask}", docs, rels)


def load_all() -> dict[tuple[str, str], Split]:
    """Every part of the data set.

    Returns
    -------
    dict of (str, str) to Split
        By ``(part, subtask)``, in the order of :data:`FILES`.
    """
    return {k: load_split(*k) for k in FILES}


def subsample_docs(split: Split, fraction: float, seed: int) -> Split:
    """A random ``fraction`` of the abstracts of ``split``, with their relations (smoke runs).

    Parameters
    ----------
    split : Split
    fraction : float
        Share of the abstracts kept (at least two are); ``>= 1`` returns ``split`` itself.
    seed : int
        Seed of the draw (``numpy.random.default_rng``).

    Returns
    -------
    Split
    """
    if fraction >= 1.0:
        return split
    rng = np.random.default_rng(seed)
    ids = sorted(split.docs)
    keep = set(rng.choice(ids, max(2, int(round(fraction * len(ids)))), replace=False))
    return Split(split.name, {k: v for k, v in split.docs.items() if k in keep},
                 [r for r in split.relations if r.doc_id in keep])


def hold_out(split: Split, fraction: float, seed: int, at_least: int = 1) -> tuple[Split, Split]:
    """Split the abstracts of ``split`` at random into a part to fit and a held-out part.

    Parameters
    ----------
    split : Split
    fraction : float
        Share of the abstracts held out (rounded; at least ``at_least``).
    seed : int
        Seed of the draw (``numpy.random.default_rng``).
    at_least : int
        Fewest abstracts held out.

    Returns
    -------
    fit, held : Split
        Each with the relations of its abstracts.
    """
    rng = np.random.default_rng(seed)
    ids = sorted(split.docs)
    held = set(rng.choice(ids, max(at_least, int(round(fraction * len(ids)))), replace=False))

    def part(name: str, inside: bool) -> Split:
        return Split(f"{split.name} ({name})", {k: v for k, v in split.docs.items() if (k in held) == inside},
                     [r for r in split.relations if (r.doc_id in held) == inside])

    return part("fit", False), part("held out", True)
