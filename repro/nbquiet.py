"""An IPython extension that makes a trailing ``;`` silence a cell's result under nbval too.

IPython decides whether to show a cell's last value by looking for a trailing ``;`` in the
*history* of executed cells. nbval executes cells with ``store_history=False``, so IPython looks
at the wrong cell and shows values that the notebook silenced (``run.save_figure(...);``,
``ax.set(...);``) — outputs that the committed record, made by papermill with history, does not
have. This extension keeps the source of the running cell (``pre_run_cell``) and answers
"quiet?" from it. ``repro verify`` loads it into nbval's kernels; it changes nothing for a
kernel that stores history.

Example
-------
In a kernel: ``%load_ext repro.nbquiet``.
"""
from __future__ import annotations

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ip) -> None:
    """Register the hook on the IPython shell ``ip``.

    Parameters
    ----------
    ip : IPython.core.interactiveshell.InteractiveShell
    """
    hook = ip.displayhook
    state = {"cell": None}

    def remember(info):
        state["cell"] = getattr(info, "raw_cell", None)

    def quiet():
        cell = state["cell"]
        if cell is None:
            return type(hook).quiet(hook)
        return hook.semicolon_at_end_of_expression(cell)

    ip.events.register("pre_run_cell", remember)
    hook.quiet = quiet
