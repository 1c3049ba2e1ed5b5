"""Loop IR (compile/ir.py) to Python source: one print method per node; the printer indents."""

from numba_ad.compile import ir

INDENT = "    "


class Printer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append(INDENT * depth + text)

    def block(self, nodes: list, depth: int) -> None:
        for node in nodes:
            getattr(self, "print_" + type(node).__name__)(node, depth)

    def print_Assign(self, node: ir.Assign, depth: int) -> None:
        self.line(depth, f"{node.target} = {node.value}")

    def print_AddTo(self, node: ir.AddTo, depth: int) -> None:
        self.line(depth, f"{node.target} += {node.value}")

    def print_Guard(self, node: ir.Guard, depth: int) -> None:
        self.line(depth, f"ok &= {node.value} == {node.recorded}")

    def print_Stmt(self, node: ir.Stmt, depth: int) -> None:
        self.line(depth, node.text)

    def print_Loop(self, node: ir.Loop, depth: int) -> None:
        if node.reverse:
            first = node.start or 0
            self.line(depth, f"for {node.counter} in range({node.stop - first}):")
            self.line(depth + 1, f"{node.var} = {node.stop - 1} - {node.counter}")
        else:
            bounds = node.stop if node.start is None else f"{node.start}, {node.stop}"
            self.line(depth, f"for {node.var} in {'prange' if node.parallel else 'range'}({bounds}):")
        self.block(node.body, depth + 1)

    def print_If(self, node: ir.If, depth: int) -> None:
        self.line(depth, f"if {node.test}:" + (f"  # {node.comment}" if node.comment else ""))
        self.block(node.body, depth + 1)
        if node.orelse:
            self.line(depth, "else:")
            self.block(node.orelse, depth + 1)

    def print_Function(self, node: ir.Function, depth: int) -> None:
        self.line(depth, "")
        self.line(depth, "")
        self.line(depth, f"@njit({node.options})")
        self.line(depth, f"def {node.signature}:")
        self.block(node.body, depth + 1)

    def print_Module(self, node: ir.Module, depth: int = 0) -> None:
        for text in node.header:
            self.line(depth, text)
        self.block(node.functions, depth)


def module_text(module: ir.Module) -> str:
    """The source of a generated module."""
    printer = Printer()
    printer.print_Module(module)
    return "\n".join(printer.lines) + "\n"
