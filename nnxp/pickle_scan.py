"""The first look at a pickle: its opcodes counted and its nesting measured before the
unpickler builds a single object.

The unpickler itself is iterative, but what it builds is not: a tuple nested 200,000 deep
crashes CPython's hash when it becomes a dict key, and 5,000 deep ends in a RecursionError.
:func:`scan` mirrors the unpickler's stack and marks with pickletools' description of every
opcode, keeping for each stack entry the nesting depth of its object, and refuses (one
ModelFileError line) a pickle that is too long, nests too deep, reads the memo where nothing
was stored or writes it far away, or uses persistent ids, the extension registry or
out-of-band buffers.
"""

from __future__ import annotations

import pickletools

from nnxp.errors import ModelFileError

MAX_OPCODES = 100_000
"""The most opcodes a pickle may hold (the book's hold a few hundred); bounds the scan."""

MAX_DEPTH = 32
"""The deepest nesting of containers admitted (NumPy's pickles nest 7 deep, counting the
leaves)."""


def _refuse(problem: str) -> ModelFileError:
    return ModelFileError(problem)


_MUTATORS = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_NEVER = {
    "PERSID": "persistent ids", "BINPERSID": "persistent ids",
    "EXT1": "the extension registry", "EXT2": "the extension registry",
    "EXT4": "the extension registry", "NEXT_BUFFER": "out-of-band buffers",
    "READONLY_BUFFER": "out-of-band buffers",
}


def scan(data: bytes) -> None:
    """Refuse a pickle whose opcodes are too many, nest too deep or abuse the memo.

    Mirrors the unpickler's stack (each entry the nesting depth of its object) and marks,
    using pickletools' description of every opcode, so a tuple nested 200,000 deep is refused
    here instead of crashing CPython's hash when it becomes a dict key.
    """
    stack: list[int] = []
    marks: list[int] = []
    memo: dict[int, int] = {}
    for count, (op, arg, _) in enumerate(pickletools.genops(data), 1):
        if count > MAX_OPCODES:
            raise _refuse(f"more than {MAX_OPCODES:,} opcodes; the book's pickles have hundreds")
        name = op.name
        if name in _NEVER:
            raise _refuse(f"refusing a pickle that uses {_NEVER[name]}: book weights have none")
        fence = marks[-1] if marks else 0
        if name == "MARK":
            marks.append(len(stack))
            continue
        if name == "POP" and marks and len(stack) == fence:
            marks.pop()
            continue
        if name in _PUTS:
            if len(stack) <= fence:
                raise _refuse("the memo stores from an empty stack")
            index = len(memo) if arg is None else arg
            if index > MAX_OPCODES:
                raise _refuse(f"a memo index beyond {MAX_OPCODES:,}")
            memo[index] = stack[-1]
            continue
        if name in _GETS:
            if arg not in memo:
                raise _refuse("the memo is read where nothing was stored")
            stack.append(memo[arg])
            continue
        before = op.stack_before
        items: list[int] = []
        fixed = len(before)
        if pickletools.markobject in before:
            if not marks:
                raise _refuse(f"{name} without a MARK")
            fixed = before.index(pickletools.markobject)
            items = stack[marks[-1]:]
            del stack[marks.pop():]
            fence = marks[-1] if marks else 0
        if len(stack) - fixed < fence:
            raise _refuse(f"{name} finds too few objects on the stack")
        popped = stack[len(stack) - fixed:] if fixed else []
        del stack[len(stack) - fixed:]
        if name == "DUP":
            stack += popped * 2
            continue
        if name in _MUTATORS:
            depth = max(popped[0], 1 + max(popped[1:] + items, default=0))
        else:
            depth = 1 + max(popped + items, default=0)
        if depth > MAX_DEPTH:
            raise _refuse(f"objects nested more than {MAX_DEPTH} deep; book weights nest 7")
        stack += [depth] * len(op.stack_after)
