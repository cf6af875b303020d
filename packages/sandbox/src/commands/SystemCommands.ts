/**
 * System commands on virtual time and the machine's live facts (sandbox.md §3.4, §5.1): `timeout` (GNU
 * semantics and exit codes; BusyBox variant on Alpine), `sleep`, `date`, `hostname`, `whoami`, `id`, `df`,
 * `free`, `uptime`, `nproc`, `ip`, `ss`, `ssh-keygen -lf`, `openssl x509 -fingerprint`. None of them
 * reads the real clock or the real machine.
 */
import { X509Certificate } from "node:crypto"
import { defineCommand, latin1FromBytes, type Command, type CommandContext, type ExecResult } from "just-bash"
import * as HostKey from "../ssh/HostKey.js"
import type { Machine, MountInfo } from "../machines/Machine.js"
import * as Paths from "../machines/Paths.js"
import { aborted, argvLine, fail, ok, parseDuration, parseSignal } from "./Result.js"

type Ctx = CommandContext

// -------------------------------------------------------------------------------------------------
// timeout / sleep
// -------------------------------------------------------------------------------------------------

const GNU_TIMEOUT_USAGE = "Try 'timeout --help' for more information.\n"
const BUSYBOX_TIMEOUT_USAGE =
  "BusyBox v1.36.1 (2024-06-10 07:11:47 UTC) multi-call binary.\n\nUsage: timeout [-s SIG] [-k KILL_SECS] SECS PROG ARGS\n\nRuns PROG. Sends SIG to it if it is not gone in SECS seconds.\nDefault SIG: TERM.If it still exists in KILL_SECS seconds, send KILL.\n"

/** Runs `argv` on the current machine with a cancellation signal; never rejects. */
const execArgv = async (ctx: Ctx, argv: ReadonlyArray<string>, signal: AbortSignal): Promise<ExecResult> => {
  if (!ctx.exec) return fail(126, "exec unavailable\n")
  try {
    return await ctx.exec(argvLine(argv), {
      cwd: ctx.cwd,
      signal,
      stdin: latin1FromBytes(ctx.stdin),
      stdinKind: "bytes"
    })
  } catch (e) {
    return fail(124, e instanceof Error ? `${e.message}\n` : "aborted\n")
  }
}

const timeoutCommand = (machine: Machine): Command =>
  defineCommand("timeout", async (args, ctx) => {
    const gnu = machine.flavour === "gnu"
    let sig = 15
    let killAfter: number | undefined
    let preserve = false
    let i = 0
    const usage = (msg: string) => (gnu ? fail(125, `timeout: ${msg}\n${GNU_TIMEOUT_USAGE}`) : fail(1, `timeout: ${msg}\n${BUSYBOX_TIMEOUT_USAGE}`))
    for (; i < args.length; i++) {
      const a = args[i]!
      if (a === "--") {
        i++
        break
      }
      if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) break
      if (!gnu && a.startsWith("--")) return usage(`unrecognized option '${a}'`)
      let value: string | undefined
      let opt = a
      if (a.startsWith("--") && a.includes("=")) {
        opt = a.slice(0, a.indexOf("="))
        value = a.slice(a.indexOf("=") + 1)
      } else if (/^-[sk]./.test(a)) {
        opt = a.slice(0, 2)
        value = a.slice(2)
      }
      switch (opt) {
        case "-s":
        case "--signal": {
          const v = value ?? args[++i]
          const n = v === undefined ? undefined : parseSignal(v)
          if (n === undefined) return usage(`invalid signal '${v ?? ""}'`)
          sig = n
          break
        }
        case "-k":
        case "--kill-after": {
          const v = value ?? args[++i]
          const ms = v === undefined ? undefined : parseDuration(v)
          if (ms === undefined) return usage(`invalid time interval '${v ?? ""}'`)
          killAfter = ms
          break
        }
        case "--preserve-status":
          preserve = true
          break
        case "--help":
          return ok("Usage: timeout [OPTION] DURATION COMMAND [ARG]...\n  or:  timeout [OPTION]\nStart COMMAND, and kill it if still running after DURATION.\n\nMandatory arguments to long options are mandatory for short options too.\n      --preserve-status\n                 exit with the same status as COMMAND, even when the\n                   command times out\n      --foreground\n                 when not running timeout directly from a shell prompt,\n                   allow COMMAND to read from the TTY and get TTY signals;\n                   in this mode, children of COMMAND will not be timed out\n  -k, --kill-after=DURATION\n                 also send a KILL signal if COMMAND is still running\n                   this long after the initial signal was sent\n  -s, --signal=SIGNAL\n                 specify the signal to be sent on timeout;\n                   SIGNAL may be a name like 'HUP' or a number;\n                   see 'kill -l' for a list of signals\n  -v, --verbose  diagnose to stderr any signal sent upon timeout\n      --help        display this help and exit\n      --version     output version information and exit\n\nGNU coreutils online help: <https://www.gnu.org/software/coreutils/>\n")
        case "--version":
          return ok("timeout (GNU coreutils) 9.7\nPackaged by Debian (9.7-3)\n")
        case "--foreground":
        case "-v":
        case "--verbose":
          break
        default:
          return usage(gnu ? `unrecognized option '${a}'` : `invalid option -- '${a.slice(1)}'`)
      }
    }
    const durArg = args[i]
    const argv = args.slice(i + 1)
    if (durArg === undefined) return usage("missing operand")
    const dur = parseDuration(durArg)
    if (dur === undefined) return usage(`invalid time interval '${durArg}'`)
    if (argv.length === 0) return usage(`missing operand after '${durArg}'`)

    const child = new AbortController()
    const timer = new AbortController()
    const outer = ctx.signal
    const onOuter = () => {
      child.abort()
      timer.abort()
    }
    outer?.addEventListener("abort", onOuter, { once: true })
    const run = execArgv(ctx, argv, child.signal)
    const expired = dur > 0 ? machine.time.sleep(dur, timer.signal).then(() => "timeout" as const, () => "cancelled" as const) : new Promise<"cancelled">(() => undefined)
    const first = await Promise.race([run.then((r) => ({ done: r })), expired.then((t) => ({ t }))])
    if ("done" in first) {
      timer.abort()
      outer?.removeEventListener("abort", onOuter)
      return rewriteNotFound(first.done, gnu)
    }
    if (first.t === "cancelled") {
      // the caller was cancelled: stop the child too
      child.abort()
      const r = await run
      return { ...r, exitCode: 143 }
    }
    child.abort()
    const graceful = killAfter === undefined ? run.then((r) => ({ r })) : Promise.race([run.then((r) => ({ r })), machine.time.sleep(killAfter).then(() => ({ killed: true as const }))])
    const after = await graceful
    outer?.removeEventListener("abort", onOuter)
    if ("killed" in after) return { stdout: "", stderr: "", exitCode: 137 }
    const stderr = after.r.stderr.replace(/bash: execution aborted\n?$/, "")
    const stdout = after.r.stdout
    if (!gnu) return { stdout, stderr, exitCode: 128 + sig }
    if (preserve) return { stdout, stderr, exitCode: 128 + sig }
    return { stdout, stderr, exitCode: sig === 9 ? 137 : 124 }
  })

const rewriteNotFound = (r: ExecResult, gnu: boolean): ExecResult => {
  const m = /^(?:bash|sh): (?:line \d+: )?([^:\n]+): command not found\n?$/.exec(r.stderr)
  if (r.exitCode === 127 && m) {
    return { ...r, stderr: gnu ? `timeout: failed to run command '${m[1]}': No such file or directory\n` : `timeout: can't execute '${m[1]}': No such file or directory\n` }
  }
  return r
}

const sleepCommand = (machine: Machine): Command =>
  defineCommand("sleep", async (args, ctx) => {
    if (args.length === 0) return fail(1, "sleep: missing operand\nTry 'sleep --help' for more information.\n")
    let total = 0
    for (const a of args) {
      if (a === "infinity" || a === "inf") total = Number.POSITIVE_INFINITY
      else {
        const ms = parseDuration(a)
        if (ms === undefined) return fail(1, `sleep: invalid time interval '${a}'\nTry 'sleep --help' for more information.\n`)
        total += ms
      }
    }
    if (!Number.isFinite(total)) {
      await aborted(ctx.signal)
      return fail(143, "")
    }
    try {
      await machine.time.sleep(total, ctx.signal)
      return ok()
    } catch {
      return fail(143, "")
    }
  })

// -------------------------------------------------------------------------------------------------
// date
// -------------------------------------------------------------------------------------------------

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const DAYS_LONG = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
const p2 = (n: number) => String(n).padStart(2, "0")

/** strftime subset in UTC. */
export const strftime = (fmt: string, ms: number): string => {
  const d = new Date(ms)
  return fmt.replace(/%([a-zA-Z%:]|:z)/g, (_m, c: string) => {
    switch (c) {
      case "Y":
        return String(d.getUTCFullYear())
      case "y":
        return p2(d.getUTCFullYear() % 100)
      case "m":
        return p2(d.getUTCMonth() + 1)
      case "d":
        return p2(d.getUTCDate())
      case "e":
        return String(d.getUTCDate()).padStart(2, " ")
      case "H":
        return p2(d.getUTCHours())
      case "I":
        return p2(d.getUTCHours() % 12 || 12)
      case "p":
        return d.getUTCHours() < 12 ? "AM" : "PM"
      case "M":
        return p2(d.getUTCMinutes())
      case "S":
        return p2(d.getUTCSeconds())
      case "N":
        return `${String(d.getUTCMilliseconds()).padStart(3, "0")}000000`
      case "s":
        return String(Math.floor(ms / 1000))
      case "F":
        return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`
      case "T":
        return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
      case "R":
        return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`
      case "D":
        return `${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${p2(d.getUTCFullYear() % 100)}`
      case "a":
        return DAYS[d.getUTCDay()]!
      case "A":
        return DAYS_LONG[d.getUTCDay()]!
      case "b":
      case "h":
        return MONTHS[d.getUTCMonth()]!
      case "B":
        return MONTHS_LONG[d.getUTCMonth()]!
      case "j":
        return String(Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1).padStart(3, "0")
      case "u":
        return String(d.getUTCDay() || 7)
      case "w":
        return String(d.getUTCDay())
      case "z":
        return "+0000"
      case ":z":
        return "+00:00"
      case "Z":
        return "UTC"
      case "n":
        return "\n"
      case "t":
        return "\t"
      case "%":
        return "%"
      default:
        return `%${c}`
    }
  })
}

const dateCommand = (machine: Machine): Command =>
  defineCommand("date", async (args) => {
    let ms = machine.time.now()
    let fmt = "%a %b %e %H:%M:%S %Z %Y"
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-u" || a === "--utc" || a === "-R" || a === "--rfc-email") {
        if (a === "-R" || a === "--rfc-email") fmt = "%a, %d %b %Y %H:%M:%S +0000"
      } else if (a === "-d" || a === "--date" || a.startsWith("--date=") || a.startsWith("-d")) {
        const v = a === "-d" || a === "--date" ? args[++i] : a.startsWith("--date=") ? a.slice(7) : a.slice(2)
        if (v === undefined) return fail(1, "date: option requires an argument -- 'd'\n")
        if (v.startsWith("@") && /^@-?\d+(\.\d+)?$/.test(v)) ms = Number(v.slice(1)) * 1000
        else if (v === "now") ms = machine.time.now()
        else {
          const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$|UTC$/.test(v) ? v : `${v.replace(" ", "T")}Z`)
          if (Number.isNaN(parsed)) return fail(1, `date: invalid date '${v}'\n`)
          ms = parsed
        }
      } else if (a === "-Iseconds" || a === "--iso-8601=seconds") fmt = "%Y-%m-%dT%H:%M:%S%:z"
      else if (a === "-I" || a === "--iso-8601") fmt = "%Y-%m-%d"
      else if (a.startsWith("+")) fmt = a.slice(1)
      else return fail(1, `date: invalid date '${a}'\n`)
    }
    return ok(`${strftime(fmt, ms)}\n`)
  })

// -------------------------------------------------------------------------------------------------
// identity
// -------------------------------------------------------------------------------------------------

const hostnameCommand = (machine: Machine): Command =>
  defineCommand("hostname", async (args) => {
    const name = machine.hostname()
    if (args.includes("-I") || args.includes("-i")) {
      const addrs = machine.sys().interfaces.flatMap((i) => (i.name === "lo" ? [] : i.addrs.filter((a) => !a.startsWith("fe80")).map((a) => a.split("/")[0]!)))
      return ok(`${addrs.join(" ")} \n`)
    }
    if (args.includes("-s") || args.includes("--short")) return ok(`${name.split(".")[0]}\n`)
    if (args.includes("-f") || args.includes("--fqdn")) return ok(`${name.includes(".") ? name : `${name}.home.arpa`}\n`)
    return ok(`${name}\n`)
  })

const unameCommand = (machine: Machine): Command =>
  defineCommand("uname", async (args) => {
    const k = machine.sys().kernel
    const gnu = machine.flavour === "gnu"
    const parts = { s: "Linux", n: machine.hostname(), r: k.release, v: k.version, m: "x86_64", o: gnu ? "GNU/Linux" : "Linux" }
    const flags = args.length === 0 ? ["s"] : args.flatMap((a) => (a === "--all" ? ["a"] : a.startsWith("-") ? a.slice(1).split("") : ["?"]))
    if (flags.includes("?")) return fail(1, `uname: extra operand '${args.find((a) => !a.startsWith("-"))}'\n`)
    if (flags.includes("a")) return ok(`${[parts.s, parts.n, parts.r, parts.v, parts.m, parts.o].join(" ")}\n`)
    const order: Array<keyof typeof parts> = ["s", "n", "r", "v", "m", "o"]
    const out = order.filter((o) => flags.includes(o)).map((o) => parts[o])
    return ok(`${out.join(" ")}\n`)
  })

const whoamiCommand = (): Command => defineCommand("whoami", async () => ok("root\n"))

const idCommand = (): Command =>
  defineCommand("id", async (args) => {
    if (args.includes("-u")) return ok(args.includes("-n") ? "root\n" : "0\n")
    if (args.includes("-g")) return ok(args.includes("-n") ? "root\n" : "0\n")
    if (args.includes("-un") || args.includes("-nu")) return ok("root\n")
    if (args.includes("-gn") || args.includes("-ng")) return ok("root\n")
    if (args.includes("-G")) return ok("0\n")
    return ok("uid=0(root) gid=0(root) groups=0(root)\n")
  })

// -------------------------------------------------------------------------------------------------
// df
// -------------------------------------------------------------------------------------------------

const DF_COLUMNS = ["source", "fstype", "itotal", "iused", "iavail", "ipcent", "size", "used", "avail", "pcent", "file", "target"] as const
type DfColumn = (typeof DF_COLUMNS)[number]

const dfCommand = (machine: Machine): Command =>
  defineCommand("df", async (args, ctx) => {
    let block = 1024
    let human = false
    let showType = false
    let output: Array<DfColumn> | undefined
    const paths: Array<string> = []
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-B" || a === "--block-size") {
        const v = args[++i] ?? ""
        block = parseBlock(v) ?? -1
        if (block < 0) return fail(1, `df: invalid -B argument '${v}'\n`)
      } else if (a.startsWith("-B")) {
        block = parseBlock(a.slice(2)) ?? -1
        if (block < 0) return fail(1, `df: invalid -B argument '${a.slice(2)}'\n`)
      } else if (a.startsWith("--block-size=")) block = parseBlock(a.slice(13)) ?? 1024
      else if (a === "-k") block = 1024
      else if (a === "-m") block = 1024 * 1024
      else if (a === "-h" || a === "--human-readable") human = true
      else if (a === "-T" || a === "--print-type") showType = true
      else if (a === "-P" || a === "--portability" || a === "-l" || a === "--local" || a === "-a") continue
      else if (a === "--output") output = ["source", "fstype", "itotal", "iused", "iavail", "ipcent", "size", "used", "avail", "pcent", "file", "target"]
      else if (a.startsWith("--output=")) {
        const cols = a.slice(9).split(",")
        for (const c of cols) if (!(DF_COLUMNS as ReadonlyArray<string>).includes(c)) return fail(1, `df: option --output: field '${c}' unknown\nTry 'df --help' for more information.\n`)
        output = cols as Array<DfColumn>
      } else if (a.startsWith("-")) return fail(1, `df: unrecognized option '${a}'\nTry 'df --help' for more information.\n`)
      else paths.push(a)
    }
    const sys = machine.sys()
    const real = sys.mounts.filter((m) => m.size > 0)
    let err = ""
    let code = 0
    let rows: Array<MountInfo> = []
    if (paths.length === 0) rows = real
    else {
      for (const p of paths) {
        const abs = Paths.normalize(p, ctx.cwd)
        if (!(await ctx.fs.exists(abs))) {
          err += `df: ${p}: No such file or directory\n`
          code = 1
          continue
        }
        let best: MountInfo | undefined
        for (const m of real) if ((abs === m.target || abs.startsWith(m.target === "/" ? "/" : `${m.target}/`)) && (!best || m.target.length > best.target.length)) best = m
        if (best) rows.push(best)
      }
    }
    const visible: Array<MountInfo> = []
    for (const m of rows) {
      if (m.error) {
        err += `df: ${m.target}: ${m.error}\n`
        code = 1
      } else visible.push(m)
    }
    const cols: Array<DfColumn> = output ?? (showType ? ["source", "fstype", "size", "used", "avail", "pcent", "target"] : ["source", "size", "used", "avail", "pcent", "target"])
    const sizeHeader = human ? "Size" : block === 1 ? "1B-blocks" : block === 1024 ? "1K-blocks" : block === 1024 * 1024 ? "1M-blocks" : `${block}B-blocks`
    const header: Record<DfColumn, string> = {
      source: "Filesystem",
      fstype: "Type",
      itotal: "Inodes",
      iused: "IUsed",
      iavail: "IFree",
      ipcent: "IUse%",
      size: sizeHeader,
      used: "Used",
      avail: output ? "Avail" : human ? "Avail" : "Available",
      pcent: "Use%",
      file: "File",
      target: "Mounted on"
    }
    const fmtNum = (n: number) => (human ? humanSize(n) : String(Math.ceil(n / block)))
    const cell = (m: MountInfo, c: DfColumn): string => {
      const avail = Math.max(0, m.size - m.used - (m.reserved ?? 0))
      switch (c) {
        case "source":
          return m.source
        case "fstype":
          return m.fstype
        case "size":
          return fmtNum(m.size)
        case "used":
          return fmtNum(m.used)
        case "avail":
          return fmtNum(avail)
        case "pcent":
          return m.used + avail === 0 ? "-" : `${Math.ceil((m.used * 100) / (m.used + avail))}%`
        case "itotal":
          return String(Math.floor(m.size / 16384))
        case "iused":
          return String(Math.floor(m.used / 65536))
        case "iavail":
          return String(Math.floor(m.size / 16384) - Math.floor(m.used / 65536))
        case "ipcent":
          return `${Math.ceil((Math.floor(m.used / 65536) * 100) / Math.max(1, Math.floor(m.size / 16384)))}%`
        case "file":
          return "-"
        case "target":
          return m.target
      }
    }
    const numeric = new Set<DfColumn>(["size", "used", "avail", "pcent", "itotal", "iused", "iavail", "ipcent"])
    const table = [cols.map((c) => header[c]), ...visible.map((m) => cols.map((c) => cell(m, c)))]
    const widths = cols.map((_, ci) => Math.max(...table.map((r) => r[ci]!.length)))
    const out = table
      .map((r) =>
        r
          .map((v, ci) => {
            const last = ci === cols.length - 1
            if (numeric.has(cols[ci]!)) return v.padStart(widths[ci]!)
            return last ? v : v.padEnd(widths[ci]!)
          })
          .join(" ")
      )
      .join("\n")
    return { stdout: `${out}\n`, stderr: err, exitCode: code }
  })

const parseBlock = (v: string): number | undefined => {
  const m = /^(\d*)([KMGT]?)(i?B?)$/i.exec(v)
  if (!m || (m[1] === "" && m[2] === "")) return undefined
  const n = m[1] === "" ? 1 : Number(m[1])
  const base = m[3]?.toUpperCase() === "B" ? 1000 : 1024
  const exp = { "": 0, K: 1, M: 2, G: 3, T: 4 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G" | "T"]
  return n * base ** exp
}

const humanSize = (n: number): string => {
  const units = ["", "K", "M", "G", "T", "P"]
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  if (u === 0) return String(v)
  return v < 10 ? `${(Math.ceil(v * 10) / 10).toFixed(1)}${units[u]}` : `${Math.ceil(v)}${units[u]}`
}

// -------------------------------------------------------------------------------------------------
// free / uptime / nproc
// -------------------------------------------------------------------------------------------------

const freeCommand = (machine: Machine): Command =>
  defineCommand("free", async (args) => {
    let div = 1024
    let human = false
    for (const a of args) {
      if (a === "-b" || a === "--bytes") div = 1
      else if (a === "-k" || a === "--kibi") div = 1024
      else if (a === "-m" || a === "--mebi") div = 1024 ** 2
      else if (a === "-g" || a === "--gibi") div = 1024 ** 3
      else if (a === "-h" || a === "--human") human = true
      else if (a === "-w" || a === "--wide" || a === "-t" || a === "--total") continue
      else return fail(1, `free: unrecognized option '${a}'\nUsage:\n free [options]\n`)
    }
    const s = machine.sys()
    const buffCache = Math.floor(s.memTotal * 0.08)
    const shared = Math.floor(s.memTotal * 0.002)
    const used = s.memUsed
    const free = Math.max(0, s.memTotal - used - buffCache)
    const available = Math.max(0, s.memTotal - used)
    const f = (n: number) => (human ? humanFree(n) : String(Math.floor(n / div)))
    const row = (label: string, cols: Array<number>) => `${label.padEnd(8)}${cols.map((c) => f(c).padStart(12)).join("")}\n`
    return ok(
      "               total        used        free      shared  buff/cache   available\n" +
        row("Mem:", [s.memTotal, used, free, shared, buffCache, available]) +
        row("Swap:", [s.swapTotal, s.swapUsed, s.swapTotal - s.swapUsed])
    )
  })

const humanFree = (n: number): string => {
  const units = ["B", "Ki", "Mi", "Gi", "Ti"]
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v}B` : `${v.toFixed(1)}${units[u]}`
}

const uptimeCommand = (machine: Machine): Command =>
  defineCommand("uptime", async (args) => {
    const now = machine.time.now()
    const s = machine.sys()
    const secs = Math.max(0, Math.floor(now / 1000 - s.bootTime))
    const days = Math.floor(secs / 86400)
    const hours = Math.floor((secs % 86400) / 3600)
    const mins = Math.floor((secs % 3600) / 60)
    if (args.includes("-p") || args.includes("--pretty")) {
      const parts: Array<string> = []
      if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`)
      if (hours) parts.push(`${hours} hour${hours === 1 ? "" : "s"}`)
      parts.push(`${mins} minute${mins === 1 ? "" : "s"}`)
      return ok(`up ${parts.join(", ")}\n`)
    }
    if (args.includes("-s") || args.includes("--since")) return ok(`${strftime("%Y-%m-%d %H:%M:%S", s.bootTime * 1000)}\n`)
    const clock = strftime("%H:%M:%S", now)
    const up = (days ? `${days} day${days === 1 ? "" : "s"}, ` : "") + (hours ? `${String(hours).padStart(2)}:${p2(mins)}` : `${mins} min`)
    const [l1, l5, l15] = s.load
    return ok(` ${clock} up ${up},  1 user,  load average: ${l1.toFixed(2)}, ${l5.toFixed(2)}, ${l15.toFixed(2)}\n`)
  })

const nprocCommand = (machine: Machine): Command => defineCommand("nproc", async () => ok(`${machine.sys().cpus}\n`))

// -------------------------------------------------------------------------------------------------
// ip / ss
// -------------------------------------------------------------------------------------------------

const ipCommand = (machine: Machine): Command =>
  defineCommand("ip", async (args) => {
    const brief = args.includes("-br") || args.includes("-brief") || args.includes("--brief")
    const rest = args.filter((a) => !a.startsWith("-"))
    const obj = rest[0] ?? ""
    const ifaces = machine.sys().interfaces
    if (/^a(ddr?|ddress)?$/.test(obj)) {
      if (brief) return ok(ifaces.map((i) => `${i.name.padEnd(16)} ${i.state.padEnd(14)} ${i.addrs.map((a) => `${a} `).join("")}\n`).join(""))
      let out = ""
      ifaces.forEach((i, idx) => {
        const lo = i.name === "lo"
        out += `${idx + 1}: ${i.name}: <${lo ? "LOOPBACK,UP,LOWER_UP" : "BROADCAST,MULTICAST,UP,LOWER_UP"}> mtu ${lo ? 65536 : 1500} qdisc noqueue state ${i.state} group default qlen 1000\n`
        out += `    link/${lo ? "loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00" : `ether ${(i.mac ?? "bc:24:11:00:00:00").toLowerCase()} brd ff:ff:ff:ff:ff:ff`}\n`
        for (const a of i.addrs) out += `    ${a.includes(":") ? "inet6" : "inet"} ${a} scope ${lo ? "host" : a.startsWith("fe80") ? "link" : "global"} ${lo ? "lo" : i.name.split("@")[0]}\n       valid_lft forever preferred_lft forever\n`
      })
      return ok(out)
    }
    if (/^l(ink?)?$/.test(obj)) {
      return ok(ifaces.map((i) => `${i.name.padEnd(16)} ${i.state.padEnd(14)} ${(i.mac ?? "00:00:00:00:00:00").toLowerCase()} <${i.name === "lo" ? "LOOPBACK,UP,LOWER_UP" : "BROADCAST,MULTICAST,UP,LOWER_UP"}> \n`).join(""))
    }
    if (/^r(oute?)?$/.test(obj)) {
      const main = ifaces.find((i) => i.name !== "lo" && i.addrs.some((a) => !a.includes(":")))
      const addr = main?.addrs.find((a) => !a.includes(":"))
      if (!main || !addr) return ok()
      const [ip, prefix] = addr.split("/")
      const net = ip!.split(".").slice(0, 3).join(".")
      return ok(`default via ${net}.1 dev ${main.name.split("@")[0]} proto kernel onlink \n${net}.0/${prefix} dev ${main.name.split("@")[0]} proto kernel scope link src ${ip} \n`)
    }
    return fail(255, `Object "${obj}" is unknown, try "ip help".\n`)
  })

const ssCommand = (machine: Machine): Command =>
  defineCommand("ss", async (args) => {
    const showProc = args.some((a) => /^-[a-z]*p/.test(a))
    const rows = machine.sys().listening
    const header = `State  Recv-Q Send-Q Local Address:Port  Peer Address:Port${showProc ? "Process" : ""}\n`
    return ok(
      header +
        rows
          .map((r) => {
            const local = `${r.address}:${r.port}`
            return `LISTEN 0      4096   ${local.padStart(17)} ${"0.0.0.0:*".padStart(18)}${showProc ? `users:(("${r.process}",pid=${r.pid},fd=6))` : ""}\n`
          })
          .join("")
    )
  })

// -------------------------------------------------------------------------------------------------
// ssh-keygen / openssl
// -------------------------------------------------------------------------------------------------

const sshKeygenCommand = (): Command =>
  defineCommand("ssh-keygen", async (args, ctx) => {
    const fIdx = args.findIndex((a) => a === "-f" || a === "-lf" || a === "-fl")
    const listing = args.includes("-l") || args.includes("-lf") || args.includes("-fl")
    if (!listing || fIdx < 0 || args[fIdx + 1] === undefined) return fail(1, "usage: ssh-keygen -l [-v] [-E fingerprint_hash] [-f input_keyfile]\n")
    const file = args[fIdx + 1]!
    let content: string
    try {
      content = await ctx.fs.readFile(Paths.normalize(file, ctx.cwd))
    } catch {
      return fail(255, `${file}: No such file or directory\n`)
    }
    try {
      const line = content.trim().split("\n")[0] ?? ""
      const parts = line.split(/\s+/)
      const fp = HostKey.fingerprint(line)
      const type = parts[0] === "ssh-ed25519" ? "ED25519" : parts[0] === "ssh-rsa" ? "RSA" : "ECDSA"
      const bits = type === "ED25519" ? 256 : type === "RSA" ? 3072 : 256
      return ok(`${bits} ${fp} ${parts.slice(2).join(" ") || "no comment"} (${type})\n`)
    } catch {
      return fail(255, `${file} is not a public key file.\n`)
    }
  })

const opensslCommand = (): Command =>
  defineCommand("openssl", async (args, ctx) => {
    if (args[0] !== "x509") return fail(1, `Invalid command '${args[0] ?? ""}'; type "help" for a list.\n`)
    const inIdx = args.indexOf("-in")
    const file = inIdx >= 0 ? args[inIdx + 1] : undefined
    let pem: string
    try {
      pem = file === undefined ? latin1FromBytes(ctx.stdin) : await ctx.fs.readFile(Paths.normalize(file, ctx.cwd))
    } catch {
      return fail(1, `Could not open file or uri for loading certificate from ${file}\n`)
    }
    let cert: X509Certificate
    try {
      cert = new X509Certificate(pem)
    } catch {
      return fail(1, "Could not read certificate from <stdin>\nUnable to load certificate\n")
    }
    let out = ""
    if (args.includes("-fingerprint")) {
      const sha1 = args.includes("-sha1")
      out += sha1 ? `sha1 Fingerprint=${cert.fingerprint}\n` : `sha256 Fingerprint=${cert.fingerprint256}\n`
    }
    if (args.includes("-subject")) out += `subject=${cert.subject.replace(/\n/g, ", ")}\n`
    if (args.includes("-enddate")) out += `notAfter=${cert.validTo}\n`
    if (!args.includes("-noout")) out += cert.toString()
    return ok(out)
  })

/**
 * `bash`/`sh` wrappers adding `-s` (script from stdin, as setup's `bash -s` uses) and a bare shell
 * reading stdin; everything else goes to just-bash's own shell.
 */
const shellCommand = (name: "bash" | "sh"): Command =>
  defineCommand(name, async (args, ctx) => {
    const sIndex = args.indexOf("-s")
    const bare = args.length === 0
    if ((sIndex < 0 && !bare) || args.includes("-c") || !ctx.exec) {
      if (!ctx.origCommand) return fail(127, `${name}: unavailable\n`)
      return ctx.origCommand(args)
    }
    const flags = args.slice(0, Math.max(0, sIndex)).filter((a) => /^-[a-z]+$/.test(a) && a !== "-s")
    let positional = sIndex < 0 ? [] : args.slice(sIndex + 1)
    if (positional[0] === "--") positional = positional.slice(1)
    const script = Buffer.from(latin1FromBytes(ctx.stdin), "latin1").toString("utf8")
    const prelude = `${flags.map((f) => `set ${f}\n`).join("")}${positional.length > 0 ? `set -- ${argvLine(positional)}\n` : ""}`
    return ctx.exec(prelude + script, { cwd: ctx.cwd, ...(ctx.signal ? { signal: ctx.signal } : {}) })
  })

/** The system commands for one machine. */
export const commands = (machine: Machine): ReadonlyArray<Command> => [
  timeoutCommand(machine),
  sleepCommand(machine),
  dateCommand(machine),
  hostnameCommand(machine),
  whoamiCommand(),
  unameCommand(machine),
  idCommand(),
  dfCommand(machine),
  freeCommand(machine),
  uptimeCommand(machine),
  nprocCommand(machine),
  ipCommand(machine),
  ssCommand(machine),
  sshKeygenCommand(),
  opensslCommand(),
  ...(machine.flavour === "gnu" ? [shellCommand("bash")] : []),
  shellCommand("sh")
]
