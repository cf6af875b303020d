/**
 * @internal Wrapper peeling (guardrails.md §1.1): programs that run another program given in their own
 * arguments. Each peel skips the wrapper's own options and operands and returns what runs next.
 */
import { parseArgs } from "./args.js"
import { DYN } from "./shell.js"

export type Peel =
  /** Run `argv` next; `cwd` when the wrapper changes directory; `stdinArgs` when more arguments come from stdin. */
  | { readonly kind: "argv"; readonly argv: ReadonlyArray<string>; readonly cwd?: string; readonly stdinArgs?: boolean }
  /** Run a shell script given as a string (`su -c`, `watch`, `env -S`, `flock -c`). */
  | { readonly kind: "script"; readonly text: string; readonly label: string }
  /** Several commands (`find` with more than one `-exec`, or one per start path). */
  | { readonly kind: "many"; readonly items: ReadonlyArray<Peel> }
  /** Nothing runs after the wrapper (e.g. `command -v reboot`, `nice` alone). */
  | { readonly kind: "none" }

const NONE: Peel = { kind: "none" }

const argvFrom = (args: ReadonlyArray<string>, from: number, extra: Partial<{ cwd: string; stdinArgs: boolean }> = {}): Peel =>
  from < args.length ? { kind: "argv", argv: args.slice(from), ...extra } : NONE

/** Generic wrapper: options (some with values), then `count` operands, then the command. */
const simple =
  (shortWithArg: string, longWithArg: ReadonlyArray<string>, operandsBefore = 0) =>
  (args: ReadonlyArray<string>): Peel => {
    const p = parseArgs(args, { shortWithArg, longWithArg, stopAtOperand: true })
    return argvFrom(args, p.rest + operandsBefore)
  }

const sudo = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, {
    shortWithArg: "ugpCDhrtTUcR",
    longWithArg: ["user", "group", "prompt", "close-from", "chdir", "host", "role", "type", "command-timeout", "other-user", "chroot"],
    stopAtOperand: true
  })
  const chdir = p.short.get("D")?.[0] ?? p.long.get("chdir")?.[0]
  if (p.short.has("e") || p.long.has("edit")) return { kind: "argv", argv: ["sudoedit", ...args.slice(p.rest)] }
  if (p.short.has("l") || p.long.has("list") || p.short.has("v") || p.short.has("k") || p.short.has("K")) return NONE
  if (p.rest >= args.length && (p.short.has("s") || p.short.has("i") || p.long.has("shell") || p.long.has("login"))) {
    return { kind: "argv", argv: ["sh"] }
  }
  return argvFrom(args, p.rest, chdir !== undefined ? { cwd: chdir } : {})
}

const su = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, {
    shortWithArg: "cgGsw",
    longWithArg: ["command", "group", "supp-group", "shell", "whitelist-environment", "session-command"]
  })
  const cmd = p.short.get("c")?.[0] ?? p.long.get("command")?.[0] ?? p.long.get("session-command")?.[0]
  if (cmd !== undefined) return { kind: "script", text: cmd, label: "su -c" }
  return { kind: "argv", argv: ["sh"] } // a login shell reading stdin
}

const runuser = (args: ReadonlyArray<string>): Peel => {
  const spec = {
    shortWithArg: "ugGcsw",
    longWithArg: ["user", "group", "supp-group", "command", "session-command", "shell", "whitelist-environment"],
    stopAtOperand: true
  }
  const p = parseArgs(args, spec)
  const cmd = p.short.get("c")?.[0] ?? p.long.get("command")?.[0] ?? p.long.get("session-command")?.[0]
  if (cmd !== undefined) return { kind: "script", text: cmd, label: "runuser -c" }
  if (p.short.has("u") || p.long.has("user")) return argvFrom(args, p.rest)
  // `runuser [options] user [-c command]`
  const after = parseArgs(args.slice(p.rest + 1), spec)
  const cmd2 = after.short.get("c")?.[0] ?? after.long.get("command")?.[0] ?? after.long.get("session-command")?.[0]
  if (cmd2 !== undefined) return { kind: "script", text: cmd2, label: "runuser -c" }
  return { kind: "argv", argv: ["sh"] }
}

const env = (args: ReadonlyArray<string>): Peel => {
  let i = 0
  let cwd: string | undefined
  for (; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") { i++; break }
    if (a === "-" ) continue
    if (a === "-u" || a === "--unset") { i++; continue }
    if (a === "-C" || a === "--chdir") { cwd = args[++i]; continue }
    if (a.startsWith("--chdir=")) { cwd = a.slice(8); continue }
    if (a.startsWith("-C") && a.length > 2) { cwd = a.slice(2); continue }
    if (a === "-S" || a === "--split-string") {
      const s = args[i + 1]
      if (s === undefined) return NONE
      return { kind: "script", text: [s, ...args.slice(i + 2)].join(" "), label: "env -S" }
    }
    if (a.startsWith("--split-string=")) return { kind: "script", text: [a.slice(15), ...args.slice(i + 1)].join(" "), label: "env -S" }
    if (a.startsWith("-S") && a.length > 2) return { kind: "script", text: [a.slice(2), ...args.slice(i + 1)].join(" "), label: "env -S" }
    if (a.startsWith("-")) continue // -i, -0, -v, --ignore-environment, -u… forms with attached values
    break
  }
  // NAME=value operands
  while (i < args.length && /^[^=/]+=/.test(args[i]!) && !args[i]!.startsWith("-")) i++
  return argvFrom(args, i, cwd !== undefined ? { cwd } : {})
}

const nice = (args: ReadonlyArray<string>): Peel => {
  let i = 0
  for (; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") { i++; break }
    if (a === "-n" || a === "--adjustment") { i++; continue }
    if (/^-(-?\d+|n.+|-adjustment=.*)$/.test(a)) continue
    if (a.startsWith("-")) continue
    break
  }
  return argvFrom(args, i)
}

const ionice = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "cnpPu", longWithArg: ["class", "classdata", "pid", "pgid", "uid"], stopAtOperand: true })
  if (p.short.has("p") || p.short.has("P") || p.short.has("u") || p.long.has("pid") || p.long.has("pgid") || p.long.has("uid")) return NONE
  return argvFrom(args, p.rest)
}

const timeout = simple("sk", ["signal", "kill-after"], 1)

const chrt = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "TPD", longWithArg: ["sched-runtime", "sched-period", "sched-deadline"], stopAtOperand: true })
  if (p.short.has("p") || p.short.has("m") || p.long.has("pid") || p.long.has("max")) return NONE
  return argvFrom(args, p.rest + 1)
}

const taskset = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { stopAtOperand: true })
  if (p.short.has("p") || p.long.has("pid")) return NONE
  return argvFrom(args, p.rest + 1)
}

const flock = (args: ReadonlyArray<string>): Peel => {
  const spec = { shortWithArg: "wEc", longWithArg: ["timeout", "wait", "conflict-exit-code", "command"], stopAtOperand: true }
  const p = parseArgs(args, spec)
  const before = p.short.get("c")?.[0] ?? p.long.get("command")?.[0]
  if (before !== undefined) return { kind: "script", text: before, label: "flock -c" }
  // `flock [options] file -c command` or `flock [options] file command [args…]`
  const next = args[p.rest + 1]
  if (next === "-c" || next === "--command") {
    const text = args[p.rest + 2]
    return text === undefined ? NONE : { kind: "script", text, label: "flock -c" }
  }
  if (next !== undefined && next.startsWith("--command=")) return { kind: "script", text: next.slice(10), label: "flock -c" }
  return argvFrom(args, p.rest + 1)
}

const chroot = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { longWithArg: ["userspec", "groups"], stopAtOperand: true })
  if (p.rest >= args.length) return NONE
  return p.rest + 1 < args.length ? argvFrom(args, p.rest + 1) : { kind: "argv", argv: ["sh"] }
}

const nsenter = simple("tSGWw", ["target", "setuid", "setgid", "wd"])

const time = simple("fo", ["format", "output"])

const exec = simple("a", [])

const command = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { stopAtOperand: true })
  if (p.short.has("v") || p.short.has("V")) return NONE
  return argvFrom(args, p.rest)
}

const builtin = (args: ReadonlyArray<string>): Peel => argvFrom(args, 0)

const busybox = (args: ReadonlyArray<string>): Peel => {
  if (args.length === 0 || args[0]!.startsWith("-")) return NONE
  return argvFrom(args, 0)
}

const xargs = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, {
    shortWithArg: "adEILnPs",
    longWithArg: ["arg-file", "delimiter", "eof", "replace", "max-lines", "max-args", "max-procs", "max-chars", "process-slot-var"],
    stopAtOperand: true
  })
  const repl = p.short.get("I")?.[0] ?? p.long.get("replace")?.[0] ?? (p.short.has("i") ? "{}" : undefined)
  const cmd = p.rest < args.length ? args.slice(p.rest) : ["echo"]
  if (repl !== undefined && repl.length > 0) {
    return { kind: "argv", argv: cmd.map((a) => a.split(repl).join(DYN)), stdinArgs: true }
  }
  return { kind: "argv", argv: [...cmd, DYN], stdinArgs: true }
}

const watch = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "nq", longWithArg: ["interval", "differences", "equexit", "queue"], stopAtOperand: true })
  if (p.rest >= args.length) return NONE
  if (p.short.has("x") || p.long.has("exec")) return argvFrom(args, p.rest)
  return { kind: "script", text: args.slice(p.rest).join(" "), label: "watch" }
}

const systemdRun = simple("upEHMs", [
  "unit", "property", "description", "slice", "setenv", "uid", "gid", "nice", "working-directory", "machine", "host",
  "on-active", "on-boot", "on-startup", "on-unit-active", "on-unit-inactive", "on-calendar", "on-timer-property",
  "timer-property", "path-property", "socket-property", "service-type", "expand-environment", "json", "shell"
])

const strace = simple("eoOpsuEabPISXU", ["output", "attach", "string-limit", "user", "env", "signal", "trace", "status", "quiet", "decode-fds"])

const ltrace = simple("eoOpsuEaADFlnxw", ["output", "library", "config", "align", "indent"])

const doas = simple("uC", [])

/** `ssh [options] host [command…]`: the remote command is a shell string run by the remote shell. */
const ssh = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "bcDEeFIiJLlmOopQRSWw", stopAtOperand: true })
  const rest = args.slice(p.rest + 1)
  return rest.length > 0 ? { kind: "script", text: rest.join(" "), label: "ssh" } : NONE
}

/** `pct exec <vmid> [--] cmd…`, `lxc-attach -n <id> [--] cmd…`. */
export const afterDashDash = (skipOperands: number) => (args: ReadonlyArray<string>): Peel => {
  const dd = args.indexOf("--")
  if (dd >= 0) return argvFrom(args, dd + 1)
  return argvFrom(args, skipOperands)
}

const lxcAttach = (args: ReadonlyArray<string>): Peel => {
  const dd = args.indexOf("--")
  if (dd >= 0) return argvFrom(args, dd + 1)
  const p = parseArgs(args, { shortWithArg: "nPesv", longWithArg: ["name", "lxcpath", "elevated-privileges", "arch", "namespaces", "set-var", "uid", "gid", "context"], stopAtOperand: true })
  return p.rest < args.length ? argvFrom(args, p.rest) : { kind: "argv", argv: ["sh"] }
}

/** `docker|podman exec [options] <container> cmd…`. */
export const containerExec = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "euw", longWithArg: ["env", "env-file", "user", "workdir", "detach-keys"], stopAtOperand: true })
  return argvFrom(args, p.rest + 1)
}

/** `script [options] -c command [file]`: the command runs through the shell. */
const script = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "cEIOBTm", longWithArg: ["command", "echo", "log-in", "log-out", "log-io", "log-timing", "logging-format", "output-limit"] })
  const cmd = p.short.get("c")?.[0] ?? p.long.get("command")?.[0]
  return cmd !== undefined ? { kind: "script", text: cmd, label: "script -c" } : NONE
}

/** `screen [options] [cmd…]` (e.g. `screen -dmS name cmd`). */
const screen = (args: ReadonlyArray<string>): Peel => {
  const p = parseArgs(args, { shortWithArg: "SscehpTtXlL", stopAtOperand: true })
  if (p.short.has("X") || p.short.has("r") || p.short.has("x") || p.short.has("l") || p.short.has("list")) return NONE
  return argvFrom(args, p.rest)
}

/** `tmux new-session|new|new-window|neww|split-window|splitw|respawn-pane … 'shell command'`. */
const tmux = (args: ReadonlyArray<string>): Peel => {
  const sub = parseArgs(args, { shortWithArg: "cfLSTO", stopAtOperand: true })
  const verb = args[sub.rest]
  if (verb === undefined || !["new-session", "new", "new-window", "neww", "split-window", "splitw", "respawn-pane", "respawnp", "respawn-window", "respawnw", "run-shell", "run"].includes(verb)) return NONE
  const rest = args.slice(sub.rest + 1)
  const p = parseArgs(rest, { shortWithArg: "censtxyFlLpSbwt", stopAtOperand: true })
  const cmd = rest.slice(p.rest)
  return cmd.length > 0 ? { kind: "script", text: cmd.join(" "), label: `tmux ${verb}` } : NONE
}

/** Wrapper table: program basename → peel. */
export const WRAPPERS: ReadonlyMap<string, (args: ReadonlyArray<string>) => Peel> = new Map([
  ["sudo", sudo],
  ["doas", doas],
  ["su", su],
  ["runuser", runuser],
  ["env", env],
  ["nice", nice],
  ["ionice", ionice],
  ["nohup", simple("", [])],
  ["timeout", timeout],
  ["stdbuf", simple("ioe", ["input", "output", "error"])],
  ["setsid", simple("", [])],
  ["chrt", chrt],
  ["taskset", taskset],
  ["flock", flock],
  ["chroot", chroot],
  ["nsenter", nsenter],
  ["time", time],
  ["exec", exec],
  ["command", command],
  ["builtin", builtin],
  ["busybox", busybox],
  ["xargs", xargs],
  ["watch", watch],
  ["systemd-run", systemdRun],
  ["strace", strace],
  ["ltrace", ltrace],
  ["unbuffer", simple("", [])],
  ["toybox", busybox],
  ["pkexec", simple("", ["user"])],
  ["gosu", (args) => argvFrom(args, 1)],
  ["su-exec", (args) => argvFrom(args, 1)],
  ["setpriv", simple("", ["reuid", "regid", "groups", "inh-caps", "ambient-caps", "bounding-set", "securebits", "pdeathsig", "selinux-label", "apparmor-profile", "landlock-access", "landlock-rule", "ruid", "euid", "rgid", "egid"])],
  ["sg", (args) => {
    const c = args.indexOf("-c")
    if (c >= 0 && args[c + 1] !== undefined) return { kind: "script", text: args[c + 1]!, label: "sg -c" }
    return args.length > 1 ? { kind: "script", text: args.slice(1).join(" "), label: "sg" } : NONE
  }],
  ["unshare", simple("SGRw", ["setuid", "setgid", "root", "wd", "propagation", "kill-child", "map-user", "map-group", "map-users", "map-groups", "mount-proc", "mount-binfmt"])],
  ["ssh", ssh],
  ["lxc-attach", lxcAttach],
  ["script", script],
  ["screen", screen],
  ["tmux", tmux],
  ["catchsegv", simple("", [])]
])
