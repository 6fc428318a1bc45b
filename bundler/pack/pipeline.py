"""Pack many functions on a few threads: analyse, deflate the union of their files once,
write each zip as soon as its files are deflated.

One thread per function, end to end, leaves a core idle whenever the functions left share
the file being deflated, and starts a large file (numpy's 25 MB OpenBLAS) only when a
function reaches it. Here the work of the whole build is three kinds of task, shared by the
threads in this order of preference:

1. write a zip whose files are all deflated (a function's `finish`): it frees memory and
   overlaps the copying with other threads' deflating;
2. prepare a function (analysis, cache lookup, listing its files), but on at most all
   threads but one: that work holds the GIL, so a second thread deflates meanwhile;
3. deflate a file no function has deflated yet, the largest known first: zlib and hashlib
   release the GIL, so deflates run on every core;
4. prepare a function, when nothing else is left to do.

A file that cannot be read is left to the functions holding it: their `finish` reads it
again through the blob store and fails with that error, exactly as when each function
deflated its own files.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from bundler.errors import BundlerError
from bundler.pack.contents import Contents
from bundler.store.blobs import BlobStore

R = TypeVar("R")
_LARGE = 1024 * 1024  # files from this size are deflated largest first, before the rest


@dataclass(frozen=True)
class Packing(Generic[R]):
    """A prepared function: the files of its zip, and what writes the zip (once every
    file in `contents` is deflated) and gives the function's result."""

    contents: Contents
    finish: Callable[[], R]


Prepare = Callable[[], "R | Packing[R]"]


def pack_all(store: BlobStore, prepare: Sequence[Prepare[R]], threads: int) -> Iterator[R]:
    """Run every `prepare` (a result, or a `Packing` to finish) on `threads` threads,
    deflating through `store`; yield each function's result as it is done.

    A bug (any exception out of `prepare` or `finish`) stops the other threads from
    taking more work and is raised here once they have stopped.
    """
    plan = _Plan(store, list(prepare), max(1, threads))
    workers = [threading.Thread(target=plan.work, daemon=True) for _ in range(plan.threads)]
    for worker in workers:
        worker.start()
    try:
        yield from plan.results()
    finally:
        plan.stop()
        for worker in workers:
            worker.join()
    if plan.failure is not None:
        raise plan.failure


@dataclass
class _Function(Generic[R]):
    packing: Packing[R]
    waiting: int  # distinct files not deflated yet


class _Plan(Generic[R]):
    """The shared state of `pack_all`, under one condition variable."""

    def __init__(self, store: BlobStore, prepare: list[Prepare[R]], threads: int) -> None:
        self.store = store
        self.threads = threads
        self.failure: BaseException | None = None
        self._prepare = prepare[::-1]  # popped from the end: in the order given
        self._preparing = 0
        self._files: list[tuple[int, int, str, int]] = []  # heap: (order, seq, path, size)
        self._seq = itertools.count()
        self._holders: dict[tuple[str, int], list[_Function[R]]] = {}  # not deflated yet
        self._deflated: set[tuple[str, int]] = set()
        self._ready: list[_Function[R]] = []
        self._results: list[R] = []
        self._left = len(prepare)  # results not yet given
        self._stopped = False
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # the workers wait on this one for work...
        self._given = threading.Condition(lock)  # ...the caller on this one for results

    def results(self) -> Iterator[R]:
        """Each result as it comes, until every function gave one (or a bug stopped us)."""
        while True:
            with self._cond:
                while not self._results and self._left and not self._stopped:
                    self._given.wait()
                found, self._results = self._results, []
                done = not self._left or self._stopped
            yield from found
            if done:
                return

    def stop(self) -> None:
        """No more work is taken (the caller stopped listening, or a bug was raised)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            self._given.notify_all()

    def work(self) -> None:
        """One thread: take tasks until there are none left."""
        try:
            while True:
                task = self._next()
                if task is None:
                    return
                task()
        except BaseException as error:  # a bug: stop everyone, raise it in the caller
            with self._cond:
                if self.failure is None:
                    self.failure = error
                self._stopped = True
                self._cond.notify_all()
                self._given.notify_all()

    def _next(self) -> Callable[[], None] | None:
        """The next task, by the order of preference in the module's docstring; None
        when everything is done or stopped."""
        with self._cond:
            while not self._stopped:
                if self._ready:
                    function = self._ready.pop()
                    return lambda: self._finish(function)
                if self._prepare and (self._preparing < self.threads - 1 or not self._files):
                    self._preparing += 1
                    return self._run_prepare(self._prepare.pop())
                if self._files:
                    _order, _seq, path, size = heapq.heappop(self._files)
                    return lambda: self._deflate(path, size)
                if not self._left:
                    return None
                self._cond.wait()  # other threads will give work, or finish it all
            return None

    def _run_prepare(self, prepare: Prepare[R]) -> Callable[[], None]:
        def run() -> None:
            try:
                found = prepare()
            finally:
                with self._cond:
                    self._preparing -= 1
            if isinstance(found, Packing):
                self._add(found)
            else:
                self._give(found)

        return run

    def _add(self, packing: Packing[R]) -> None:
        """Queue the files of a prepared function that nobody has deflated or queued."""
        function = _Function(packing, 0)
        with self._cond:
            for entry in packing.contents.entries:
                if entry.data is not None:
                    continue  # in memory (a rewritten RECORD): deflated with its zip
                source = (str(entry.source), entry.size)
                if source in self._deflated:
                    continue
                holders = self._holders.get(source)
                if holders is None:
                    holders = self._holders[source] = []
                    order = -entry.size if entry.size >= _LARGE else 0
                    heapq.heappush(self._files, (order, next(self._seq), *source))
                if not holders or holders[-1] is not function:  # a path listed twice
                    holders.append(function)
                    function.waiting += 1
            if not function.waiting:
                self._ready.append(function)
            self._cond.notify_all()  # new files or a zip to write: work for idle threads

    def _deflate(self, path: str, size: int) -> None:
        # A failure is left to each function holding the file: `finish` reads it again
        # through the store and says why, as a function deflating its own files did.
        with contextlib.suppress(BundlerError, OSError):
            self.store.deflate_file(Path(path), size)
        with self._cond:
            self._deflated.add((path, size))
            for function in self._holders.pop((path, size)):
                function.waiting -= 1
                if not function.waiting:
                    self._ready.append(function)
                    self._cond.notify()  # a zip to write, for a thread waiting for work

    def _finish(self, function: _Function[R]) -> None:
        self._give(function.packing.finish())

    def _give(self, result: R) -> None:
        with self._cond:
            self._results.append(result)
            self._left -= 1
            self._given.notify()
            if not self._left:
                self._cond.notify_all()  # nothing left: waiting threads may stop
