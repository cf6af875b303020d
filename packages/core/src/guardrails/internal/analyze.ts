/**
 * @internal The AST walk behind `classify` (guardrails.md §1). Every simple command anywhere in the
 * script (lists, pipelines, compound commands, function bodies, substitutions, nested shells) is
 * normalized (quotes evaluated, assignment prefixes dropped, wrappers peeled, program basename) and
 * checked against the rule tables in `rules.ts`. Findings accumulate; the most severe wins.
 */
import * as Rules from "./rules.js"
import {
  collectSubstitutions,
  DYN,
  evalWord,
  isDynamic,
  isGlob,
  list,
  type Node,
  nodeType,
  parseScript,
  show,
  fieldRegex,
  walkNodes,
  wordHasExpansion
} from "./shell.js"
import { afterDashDash, containerExec, WRAPPERS, type Peel } from "./wrappers.js"
import { resolvePattern } from "./pathPattern.js"

export type Severity = "deny" | "confirm"

export interface Finding {
  readonly severity: Severity
  readonly reason: string
  readonly protected?: boolean
}

export interface ExtraRule {
  readonly severity: Severity
  readonly program: string
  readonly words: ReadonlyArray<string>
  readonly source: string
}

export interface AnalyzeOptions {
  readonly context: "host" | "guest"
  readonly extra: ReadonlyArray<ExtraRule>
  readonly cwd: string | undefined
}

export const MAX_DEPTH = 8
export const UNPARSEABLE = "could not be parsed; simplify the command"

/** What a command's standard input is. */
export type Stdin =
  | { readonly kind: "none" }
  | { readonly kind: "pipe" }
  | { readonly kind: "file"; readonly target: string }
  | { readonly kind: "script"; readonly text: string | null }

const NO_STDIN: Stdin = { kind: "none" }

/** Shared accumulator plus per-scope state (cwd, variables, functions). */
export class Scope {
  constructor(
    readonly out: { findings: Array<Finding>; heavy: Array<string>; written: Set<string> },
    readonly opts: AnalyzeOptions,
    public cwd: string | undefined,
    readonly vars: Map<string, string | null>,
    readonly funcs: Map<string, Node>,
    readonly callStack: ReadonlyArray<string>,
    readonly depth: number
  ) {}

  static root(opts: AnalyzeOptions): Scope {
    return new Scope({ findings: [], heavy: [], written: new Set() }, opts, opts.cwd, new Map(), new Map(), [], 0)
  }

  /** A subshell: cwd and variables are copied and do not leak back. */
  sub(): Scope {
    return new Scope(this.out, this.opts, this.cwd, new Map(this.vars), this.funcs, this.callStack, this.depth)
  }

  nested(): Scope {
    return new Scope(this.out, this.opts, this.cwd, new Map(this.vars), this.funcs, this.callStack, this.depth + 1)
  }

  /** The same accumulator, judging a command that runs inside a guest. */
  inGuest(): Scope {
    return new Scope(this.out, { ...this.opts, context: "guest" }, undefined, new Map(this.vars), this.funcs, this.callStack, this.depth)
  }

  calling(name: string): Scope {
    return new Scope(this.out, this.opts, this.cwd, this.vars, this.funcs, [...this.callStack, name], this.depth)
  }

  get host(): boolean {
    return this.opts.context === "host"
  }

  add(severity: Severity, reason: string, isProtected = false): void {
    if (this.out.findings.some((f) => f.reason === reason && f.severity === severity)) return
    this.out.findings.push(isProtected ? { severity, reason, protected: true } : { severity, reason })
  }

  /** Remembers a literal path this script writes (to catch it being executed later in the script). */
  wrote(path: string): void {
    this.out.written.add(path)
  }

  /** True when `field` names a file this script wrote earlier. */
  runsWritten(field: string): boolean {
    if (isDynamic(field) || isGlob(field) || !field.includes("/")) return false
    const p = resolvePattern(field, this.cwd)
    return p.kind === "abs" && !p.open && this.out.written.has(`/${p.segs.join("/")}`)
  }

  heavy(reason: string): void {
    if (!this.out.heavy.includes(reason)) this.out.heavy.push(reason)
  }
}

// ---------------------------------------------------------------------------------------------------
// Scripts and statements
// ---------------------------------------------------------------------------------------------------

/** Parses and walks a script at the scope's depth; parse failures are deny. */
export const analyzeScript = (src: string, scope: Scope, label?: string): void => {
  if (scope.depth > MAX_DEPTH) {
    scope.add("deny", `shells nested deeper than ${MAX_DEPTH} levels`)
    return
  }
  const parsed = parseScript(src)
  if (!parsed.ok) {
    scope.add("deny", label === undefined ? UNPARSEABLE : `${label}: ${UNPARSEABLE}`)
    return
  }
  walkStmts(list(parsed.file.Stmts), scope)
}

/** A script string handed to a nested shell (`bash -c`, `su -c`, heredoc to a shell…). */
const nestedScript = (text: string | null, scope: Scope, label: string): void => {
  if (text === null || isDynamic(text)) {
    scope.add("confirm", `${label} runs code only known at run time`)
    return
  }
  analyzeScript(show(text), scope.nested(), label)
}

const walkStmts = (stmts: ReadonlyArray<Node>, scope: Scope): void => {
  for (const s of stmts) walkStmt(s, scope, NO_STDIN)
}

const substitutions = (node: Node, scope: Scope): void => {
  for (const s of collectSubstitutions(node)) walkStmts(s.stmts, scope.sub())
}

const REDIR_WRITE = new Set([54, 55, 57, 60, 64, 65]) // > >> <> >| &> &>>
const REDIR_DUP_OUT = 59 // >&
const REDIR_IN = 56 // <
const REDIR_HEREDOC = new Set([61, 62]) // << <<-
const REDIR_HERESTRING = 63 // <<<

const heredocText = (r: Node): string | null => {
  const parts = list(r.Hdoc?.Parts)
  let text = ""
  for (const p of parts) {
    if (nodeType(p) !== "Lit") return null
    text += String(p.Value)
  }
  return text
}

const walkStmt = (stmt: Node, scope: Scope, pipedIn: Stdin): void => {
  let stdin: Stdin = pipedIn
  for (const r of list(stmt.Redirs)) {
    substitutions(r.Word, scope)
    if (r.Hdoc) substitutions(r.Hdoc, scope)
    const op = Number(r.Op)
    if (REDIR_WRITE.has(op) || op === REDIR_DUP_OUT) {
      for (const f of evalWord(r.Word, scope.vars)) {
        if (op === REDIR_DUP_OUT && /^(\d+|-)$/.test(f)) continue
        Rules.checkWrite(f, scope, `redirect to ${show(f)}`)
      }
    } else if (op === REDIR_IN) {
      const f = evalWord(r.Word, scope.vars)[0] ?? ""
      stdin = { kind: "file", target: f }
    } else if (REDIR_HEREDOC.has(op)) {
      stdin = { kind: "script", text: heredocText(r) }
    } else if (op === REDIR_HERESTRING) {
      const fs = evalWord(r.Word, scope.vars)
      const text = fs.join(" ")
      stdin = { kind: "script", text: isDynamic(text) ? null : `${text}\n` }
    }
  }
  walkCommand(stmt.Cmd, scope, stdin)
}

const walkCommand = (cmd: Node, scope: Scope, stdin: Stdin): void => {
  if (cmd === null || cmd === undefined) return
  const t = nodeType(cmd)
  switch (t) {
    case "CallExpr":
      return walkCall(cmd, scope, stdin)
    case "BinaryCmd": {
      const op = Number(cmd.Op)
      if (op === 12 || op === 13) {
        // pipeline: each side runs in a subshell
        walkStmt(cmd.X, scope.sub(), stdin)
        walkStmt(cmd.Y, scope.sub(), { kind: "pipe" })
      } else {
        walkStmt(cmd.X, scope, stdin)
        walkStmt(cmd.Y, scope, NO_STDIN)
      }
      return
    }
    case "Subshell": {
      const sub = scope.sub()
      for (const s of list(cmd.Stmts)) walkStmt(s, sub, stdin)
      return
    }
    case "Block":
      for (const s of list(cmd.Stmts)) walkStmt(s, scope, stdin)
      return
    case "IfClause":
      walkStmts(list(cmd.Cond), scope)
      walkStmts(list(cmd.Then), scope)
      if (cmd.Else) walkCommand(cmd.Else, scope, NO_STDIN)
      return
    case "WhileClause":
      walkStmts(list(cmd.Cond), scope)
      walkStmts(list(cmd.Do), scope)
      return
    case "ForClause": {
      substitutions(cmd.Loop, scope)
      const name = cmd.Loop?.Name?.Value
      if (typeof name === "string") scope.vars.set(name, null)
      walkStmts(list(cmd.Do), scope)
      return
    }
    case "CaseClause":
      substitutions(cmd.Word, scope)
      for (const item of list(cmd.Items)) {
        for (const p of list(item.Patterns)) substitutions(p, scope)
        walkStmts(list(item.Stmts), scope)
      }
      return
    case "FuncDecl": {
      const name = String(cmd.Name?.Value ?? "")
      scope.funcs.set(name, cmd.Body)
      checkForkBombFunc(name, cmd.Body, scope)
      walkStmt(cmd.Body, scope.calling(name).sub(), NO_STDIN)
      return
    }
    case "DeclClause": {
      for (const a of list(cmd.Args)) {
        substitutions(a, scope)
        const name = a.Name?.Value
        if (typeof name === "string" && !a.Naked) trackAssign(a, scope)
      }
      return
    }
    case "TimeClause":
    case "CoprocClause":
      if (cmd.Stmt) walkStmt(cmd.Stmt, t === "CoprocClause" ? scope.sub() : scope, stdin)
      return
    default:
      // ArithmCmd, TestClause, LetClause and anything newer: only their substitutions run code
      substitutions(cmd, scope)
  }
}

const trackAssign = (a: Node, scope: Scope): void => {
  const name = a.Name?.Value
  if (typeof name !== "string") return
  if (a.Append || a.Array || a.Index || !a.Value) {
    scope.vars.set(name, a.Value || a.Array ? null : "")
    return
  }
  const fields = evalWord(a.Value, scope.vars)
  const v = fields.join(" ")
  scope.vars.set(name, fields.length === 1 && !isDynamic(v) && !isGlob(v) ? v : null)
}

const walkCall = (call: Node, scope: Scope, stdin: Stdin): void => {
  const assigns = list(call.Assigns)
  const args = list(call.Args)
  for (const a of assigns) substitutions(a, scope)
  for (const w of args) substitutions(w, scope)
  if (args.length === 0) {
    for (const a of assigns) trackAssign(a, scope)
    return
  }
  const argv = args.flatMap((w) => evalWord(w, scope.vars))
  if (wordHasExpansion(args[0]) && !isDynamic(argv[0] ?? "")) {
    scope.add("confirm", `the program name is an expansion (resolved here to ${show(argv[0] ?? "")})`)
  }
  analyzeArgv(argv, scope, stdin, false)
}

// ---------------------------------------------------------------------------------------------------
// Simple commands
// ---------------------------------------------------------------------------------------------------

/** Basename after lexical normalization; `mkfs.ext4` → `mkfs`, `fsck.xfs` → `fsck`. */
export const programName = (field: string): string => {
  const base = field.split("/").filter((s) => s.length > 0 && s !== "." && s !== "..").pop() ?? field
  const dot = base.indexOf(".")
  if (dot > 0) {
    const head = base.slice(0, dot)
    if (head === "mkfs" || head === "fsck") return head
  }
  return base
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "rbash", "lksh", "posh", "yash"])
const FOREIGN_SHELLS = new Set(["fish", "csh", "tcsh", "nu", "xonsh", "elvish", "pwsh"])
const INTERPRETERS = /^(python[0-9.]*|perl|ruby|node|nodejs|php[0-9.]*|lua[0-9.]*)$/

export const analyzeArgv = (argv: ReadonlyArray<string>, scope: Scope, stdin: Stdin, stdinArgs: boolean): void => {
  if (argv.length === 0) return
  const raw = argv[0]!
  const args = argv.slice(1)
  if (isDynamic(raw)) {
    scope.add("confirm", `the program name (${show(raw)}) is only known at run time`)
    return
  }
  const name = programName(raw)
  if (scope.runsWritten(raw)) scope.add("confirm", `runs ${show(raw)}, which this command wrote (code only known at run time)`)
  if (isGlob(name)) {
    const re = fieldRegex(name)
    const matches = Rules.KNOWN_PROGRAMS.filter((p) => re.test(p))
    scope.add("confirm", `the program name ${show(raw)} is a glob pattern`)
    for (const m of matches) analyzeArgv([m, ...args], scope, stdin, stdinArgs)
    return
  }
  // a SysV init script run by path (`/etc/init.d/ssh stop`) is `service ssh stop`
  if (raw.includes("/") && Rules.changeDir(scope.cwd, raw)?.startsWith("/etc/init.d/") === true) {
    return analyzeArgv(["service", name, ...args], scope, stdin, stdinArgs)
  }
  Rules.checkExtra(name, args, scope)

  const fn = scope.funcs.get(name)
  if (fn !== undefined && raw === name) {
    if (!scope.callStack.includes(name)) walkStmt(fn, scope.calling(name), stdin)
    return
  }

  const wrapper = WRAPPERS.get(name)
  if (wrapper !== undefined) {
    if (name === "exec" && args.length === 0) return
    return followPeel(wrapper(args), scope, stdin, stdinArgs || name === "xargs", name)
  }

  if (SHELLS.has(name)) return shell(name, args, scope, stdin, stdinArgs)
  if (FOREIGN_SHELLS.has(name)) {
    if (args.some((a) => /^-[a-zA-Z]*c/.test(a)) || stdin.kind !== "none") scope.add("confirm", `${name} code cannot be parsed as a POSIX shell script`)
    return
  }
  // commands that run a command inside a guest or container
  if (name === "pct" && args[0] === "exec") return followPeel(afterDashDash(1)(args.slice(1)), scope.inGuest(), stdin, stdinArgs, name)
  if (name === "qm" && args[0] === "guest" && args[1] === "exec") return followPeel(afterDashDash(1)(args.slice(2)), scope.inGuest(), stdin, stdinArgs, name)
  if ((name === "docker" || name === "podman") && args[0] === "exec") return followPeel(containerExec(args.slice(1)), scope.inGuest(), stdin, stdinArgs, name)
  if (name === "trap") {
    const action = args[0]
    if (action !== undefined && args.length >= 2 && action !== "-" && !action.startsWith("-")) nestedScript(action, scope, "trap")
    return
  }
  if (name === "at" || name === "batch") {
    if (!args.some((a) => /^-[a-zA-Z]*[lrdc]/.test(a))) scope.add("confirm", `${name} schedules commands to run later`)
    return
  }
  if (name === "crontab") {
    if (!args.some((a) => /^-[a-zA-Z]*l/.test(a))) scope.add("confirm", "crontab changes scheduled commands")
    return
  }
  if (name === "eval") {
    scope.add("confirm", "eval runs code built at run time")
    if (args.length > 0) nestedScript(args.join(" "), scope, "eval")
    return
  }
  if (name === "source" || name === ".") {
    const file = args[0]
    if (file === undefined) return
    if (isDynamic(file)) scope.add("confirm", `${name} of a file only known at run time (${show(file)})`)
    else if (scope.runsWritten(file.includes("/") ? file : `./${file}`)) scope.add("confirm", `${name} of ${show(file)}, which this command wrote`)
    else {
      const fd = file === "-" ? 0 : scriptDescriptor(file, scope.cwd)
      if (fd === 0 && stdin.kind !== "none") scope.add("confirm", `${name} reads a script from standard input`)
      else if (fd !== null && fd !== 0) scope.add("confirm", `${name} reads a script from ${descriptorText(fd)} (${show(file)})`)
    }
    return
  }
  if (INTERPRETERS.test(name) && stdin.kind === "pipe" && args.every((a) => a.startsWith("-") && a !== "-c" && a !== "-e")) {
    scope.add("confirm", `pipes into the ${name} interpreter`)
  }
  const code = inlineCode(name, args)
  if (code !== undefined) inlineCodeCommands(code, scope)
  if (name === "find") return Rules.find(args, scope, (argv2) => analyzeArgv(argv2, scope.sub(), NO_STDIN, false))
  if (name === "cd" || name === "pushd") {
    const target = args.filter((a) => !a.startsWith("-") || a === "-")[0]
    scope.cwd = Rules.changeDir(scope.cwd, target)
    return
  }
  Rules.apply(name, args, scope, stdin)
}

const followPeel = (peel: Peel, scope: Scope, stdin: Stdin, stdinArgs: boolean, wrapper: string): void => {
  switch (peel.kind) {
    case "none":
      return
    case "script":
      return nestedScript(peel.text, scope, peel.label)
    case "many":
      for (const p of peel.items) followPeel(p, scope, stdin, stdinArgs, wrapper)
      return
    case "argv": {
      let target = scope
      if (peel.cwd !== undefined) {
        target = scope.sub()
        target.cwd = Rules.changeDir(scope.cwd, peel.cwd)
      }
      // `sudo VAR=value cmd` sets variables; other wrappers would fail to exec such a word, so
      // skipping it can only make the result stricter
      let i = 0
      while (i < peel.argv.length - 1 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(peel.argv[i]!)) i++
      return analyzeArgv(peel.argv.slice(i), target, stdin, stdinArgs || peel.stdinArgs === true)
    }
  }
}

/**
 * The file descriptor a script path reads, when it names one: `/dev/stdin` (0), `/dev/stdout` (1),
 * `/dev/stderr` (2), `/dev/fd/N`, `/proc/self|thread-self/fd/N`, after lexical normalization; -1 for
 * another process's (`/proc/<pid>/fd/N`), whose content nothing here can know.
 */
const scriptDescriptor = (file: string, cwd: string | undefined): number | null => {
  const p = Rules.changeDir(cwd, file)
  if (p === undefined) return null
  const named = ["/dev/stdin", "/dev/stdout", "/dev/stderr"].indexOf(p)
  if (named !== -1) return named
  const m = /^\/(?:dev\/fd|proc\/(self|thread-self|\d+)\/fd)\/(\d+)$/.exec(p)
  if (m === null) return null
  return m[1] !== undefined && /^\d+$/.test(m[1]) ? -1 : Number(m[2])
}

const descriptorText = (fd: number) => (fd === -1 ? "another process's file descriptor" : `file descriptor ${fd}`)

/** `sh|bash|… -c string`, a script file, or a shell reading its standard input. */
const shell = (name: string, args: ReadonlyArray<string>, scope: Scope, stdin: Stdin, stdinArgs: boolean): void => {
  let hasC = false
  let readsStdin = false
  let i = 0
  for (; i < args.length; i++) {
    const a = args[i]!
    if (a === "--" || a === "-") {
      i++
      break
    }
    if (a.startsWith("--")) {
      if (a === "--rcfile" || a === "--init-file") i++
      continue
    }
    if ((a.startsWith("-") || a.startsWith("+")) && a.length > 1) {
      const letters = a.slice(1)
      if (letters.includes("c")) hasC = true
      if (letters.includes("s")) readsStdin = true
      if (letters.includes("o") || letters.includes("O")) i++
      continue
    }
    break
  }
  const operands = args.slice(i)
  if (hasC) {
    const script = operands[0]
    if (script !== undefined) nestedScript(script, scope, `${name} -c`)
    return
  }
  // a script operand naming standard input (`sh /dev/stdin <<< …`) reads it as `sh -s` does
  const fd = operands.length > 0 && !readsStdin && !isDynamic(operands[0]!) ? scriptDescriptor(operands[0]!, scope.cwd) : null
  if (operands.length > 0 && !readsStdin && fd !== 0) {
    const file = operands[0]!
    if (isDynamic(file)) scope.add("confirm", `${name} runs a script only known at run time (${show(file)})`)
    else if (fd !== null) scope.add("confirm", `${name} runs a script from ${descriptorText(fd)} (${show(file)})`)
    else if (scope.runsWritten(file.includes("/") ? file : `./${file}`)) scope.add("confirm", `${name} runs ${show(file)}, which this command wrote`)
    return
  }
  switch (stdin.kind) {
    case "pipe":
      scope.add("confirm", `pipes into a shell (${name})`)
      return
    case "file":
      scope.add("confirm", `feeds a file into a shell (${name} < ${show(stdin.target)})`)
      return
    case "script":
      nestedScript(stdin.text, scope, `${name} heredoc`)
      return
    case "none":
      if (stdinArgs) scope.add("confirm", `${name} runs code only known at run time`)
  }
}

// ---------------------------------------------------------------------------------------------------
// Inline interpreter code (python -c, perl -e, awk 'BEGIN{system(…)}')
// ---------------------------------------------------------------------------------------------------

const AWKS = new Set(["awk", "gawk", "mawk", "nawk"])

/** The inline program text of an interpreter invocation, if any. */
const inlineCode = (name: string, args: ReadonlyArray<string>): string | undefined => {
  const flag = (letters: ReadonlyArray<string>): string | undefined => {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "--") return undefined
      for (const l of letters) {
        if (a === l) return args[i + 1]
        if (l.length === 2 && a.startsWith("-") && !a.startsWith("--") && a.endsWith(l[1]!) && a.length > 2) return args[i + 1] // -pe, -ne
      }
    }
    return undefined
  }
  if (/^python[0-9.]*$/.test(name)) return flag(["-c"])
  if (name === "perl" || name === "ruby") return flag(["-e", "-E"])
  if (name === "node" || name === "nodejs") return flag(["-e", "-p", "--eval", "--print"])
  if (/^php[0-9.]*$/.test(name)) return flag(["-r"])
  if (AWKS.has(name)) {
    let i = 0
    for (; i < args.length; i++) {
      const a = args[i]!
      if (a === "--") { i++; break }
      if (a === "-f" || a.startsWith("--file")) return undefined
      if (a === "-F" || a === "-v") { i++; continue }
      if (a.startsWith("-")) continue
      break
    }
    return args[i]
  }
  return undefined
}

/** A call that runs a shell command from interpreter code. */
const EXEC_CALL = /\b(system|popen|exec[lv]?p?e?|spawn(?:Sync)?|execSync|execFile(?:Sync)?|Popen|check_output|check_call|getoutput|getstatusoutput|shell_exec|passthru|proc_open)\s*\(|\b(subprocess|child_process|IO\.popen|Open3)\b|`|\bqx\s*[({[/|]|["']\s*\|/

const STRING_LITERAL = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g

/**
 * Interpreter code that runs shell commands: its string literals (each, and all of them joined, for
 * list forms like `subprocess.run(["rm", "-rf", "/"])`) are classified as shell scripts; literals that
 * do not parse as shell are just data. Code without such a call is data too.
 */
const inlineCodeCommands = (code: string, scope: Scope): void => {
  if (isDynamic(code)) return
  const text = show(code)
  if (!EXEC_CALL.test(text)) return
  const literals: Array<string> = []
  for (const m of text.matchAll(STRING_LITERAL)) {
    const lit = (m[1] ?? m[2] ?? "").replace(/\\(.)/g, "$1")
    if (lit.trim().length > 0) literals.push(lit.replace(/^\|/, ""))
  }
  const backticks = [...text.matchAll(/`([^`]*)`/g)].map((m) => m[1]!)
  const candidates = [...literals, ...backticks, literals.join(" ")]
  if (scope.depth + 1 > MAX_DEPTH) return
  for (const c of candidates) {
    const parsed = parseScript(c)
    if (parsed.ok) walkStmts(list(parsed.file.Stmts), scope.nested())
  }
}

// ---------------------------------------------------------------------------------------------------
// Fork bombs
// ---------------------------------------------------------------------------------------------------

const callsName = (node: Node, name: string): boolean => {
  let found = false
  walkNodes(node, (n) => {
    if (found || nodeType(n) !== "CallExpr") return
    const first = list(n.Args)[0]
    if (first !== undefined && evalWord(first, new Map())[0] === name) found = true
  })
  return found
}

const checkForkBombFunc = (name: string, body: Node, scope: Scope): void => {
  let bomb = false
  walkNodes(body, (n) => {
    if (bomb || nodeType(n) !== "Stmt") return
    const cmd = n.Cmd
    const isPipe = nodeType(cmd) === "BinaryCmd" && (Number(cmd.Op) === 12 || Number(cmd.Op) === 13)
    if ((n.Background || isPipe) && callsName(cmd, name)) bomb = true
  })
  if (bomb) scope.add("deny", `fork bomb: function ${name} calls itself in a background or pipeline`)
}

export const argvOf = (argv: ReadonlyArray<string>): string => argv.map(show).join(" ")
export { DYN }
