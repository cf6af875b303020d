/**
 * File primitives with GNU coreutils 9 / findutils 4.10 behaviour (and BusyBox texts on Alpine), as the
 * product calls them (sandbox.md §5.1 "File primitives"): `stat`, `readlink`, `sha256sum`, `find`,
 * `xargs`, `mktemp`, `tail`, `mv`, `rm`, `chown`, `grep -a`. They replace just-bash 3.4.2's versions,
 * which differ from GNU (§3.4), and consult the machine's owner table for uids/gids.
 */
import { createHash } from "node:crypto"
import { defineCommand, latin1FromBytes, type Command, type CommandContext, type ExecResult, type FsStat } from "just-bash"
import type { Machine } from "../machines/Machine.js"
import * as Owners from "../machines/Owners.js"
import * as Paths from "../machines/Paths.js"
import { argvLine, fail, ok } from "./Result.js"

type Ctx = CommandContext

const abs = (ctx: Ctx, p: string) => Paths.normalize(p, ctx.cwd)

const lstat = (ctx: Ctx, p: string) => Paths.lstatOrUndefined(ctx.fs, abs(ctx, p))

const fileType = (st: FsStat, gnu: boolean): string =>
  st.isSymbolicLink
    ? "symbolic link"
    : st.isDirectory
      ? "directory"
      : st.size === 0
        ? gnu
          ? "regular empty file"
          : "regular empty file"
        : "regular file"

/** Stable fake inode number of a path on a machine. */
const inode = (machine: Machine, p: string): number => {
  let h = 0x811c9dc5
  const s = `${machine.id}:${p}`
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return 100000 + ((h >>> 0) % 9_000_000)
}

/** Interprets `\n \t \0 \\` escapes (stat --printf, find -printf). */
const escapes = (s: string): string =>
  s.replace(/\\(0[0-7]{0,3}|[ntr\\"abfv])/g, (_m, e: string) => {
    if (e.startsWith("0")) return String.fromCharCode(parseInt(e, 8) || 0)
    return ({ n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', a: "\x07", b: "\b", f: "\f", v: "\v" } as Record<string, string>)[e]!
  })

const isoLocal = (ms: number): string => {
  const d = new Date(ms)
  const pad = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000000 +0000`
}

// -------------------------------------------------------------------------------------------------
// stat
// -------------------------------------------------------------------------------------------------

const statFormat = (machine: Machine, fmt: string, p: string, path: string, st: FsStat): string => {
  const owner = machine.owners.get(p)
  return fmt.replace(/%([%FsaAugUGniYyXZhbBfwWxz])/g, (_m, c: string) => {
    switch (c) {
      case "%":
        return "%"
      case "F":
        return fileType(st, machine.flavour === "gnu")
      case "s":
        return String(st.isDirectory ? 4096 : st.size)
      case "a":
        return (st.mode & 0o7777).toString(8)
      case "A":
        return Paths.modeString(st)
      case "u":
        return String(owner.uid)
      case "g":
        return String(owner.gid)
      case "U":
        return Owners.userName(owner.uid)
      case "G":
        return Owners.groupName(owner.gid)
      case "n":
        return path
      case "i":
        return String(inode(machine, p))
      case "Y":
      case "X":
      case "Z":
      case "W":
        return String(Math.floor(st.mtime.getTime() / 1000))
      case "y":
      case "x":
      case "z":
      case "w":
        return isoLocal(st.mtime.getTime())
      case "h":
        return st.isDirectory ? "2" : "1"
      case "b":
        return String(Math.ceil(st.size / 512))
      case "B":
        return "512"
      case "f":
        return ((Paths.typeBits(st) | (st.mode & 0o7777)) >>> 0).toString(16)
      default:
        return ""
    }
  })
}

const defaultStat = (machine: Machine, p: string, path: string, st: FsStat): string => {
  const owner = machine.owners.get(p)
  const size = st.isDirectory ? 4096 : st.size
  const t = isoLocal(st.mtime.getTime())
  const name = st.isSymbolicLink ? `${path} -> (link)` : path
  return (
    `  File: ${name}\n` +
    `  Size: ${String(size).padEnd(10)}\tBlocks: ${String(Math.ceil(size / 512)).padEnd(10)} IO Block: 4096   ${fileType(st, true)}\n` +
    `Device: 0,50\tInode: ${String(inode(machine, p)).padEnd(11)} Links: ${st.isDirectory ? 2 : 1}\n` +
    `Access: (${(st.mode & 0o7777).toString(8).padStart(4, "0")}/${Paths.modeString(st)})  Uid: (${String(owner.uid).padStart(5)}/${Owners.userName(owner.uid).padStart(8)})   Gid: (${String(owner.gid).padStart(5)}/${Owners.groupName(owner.gid).padStart(8)})\n` +
    `Access: ${t}\nModify: ${t}\nChange: ${t}\n Birth: -\n`
  )
}

const statCommand = (machine: Machine): Command =>
  defineCommand("stat", async (args, ctx) => {
    const gnu = machine.flavour === "gnu"
    let fmt: string | undefined
    let printf = false
    let follow = false
    const files: Array<string> = []
    let opts = true
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (opts && a === "--") {
        opts = false
      } else if (opts && (a === "-c" || a === "--format")) {
        fmt = args[++i]
      } else if (opts && a.startsWith("--format=")) {
        fmt = a.slice(9)
      } else if (opts && a === "--printf" && gnu) {
        fmt = args[++i]
        printf = true
      } else if (opts && a.startsWith("--printf=") && gnu) {
        fmt = a.slice(9)
        printf = true
      } else if (opts && (a === "-L" || a === "--dereference")) {
        follow = true
      } else if (opts && a.startsWith("-") && a !== "-") {
        return gnu
          ? fail(1, `stat: unrecognized option '${a}'\nTry 'stat --help' for more information.\n`)
          : fail(1, `stat: unrecognized option '${a}'\nBusyBox v1.36.1 (2024-06-10 07:11:47 UTC) multi-call binary.\n\nUsage: stat [-ltf] [-c FMT] FILE...\n`)
      } else files.push(a)
    }
    if (fmt === undefined && args.includes("-c")) return fail(1, "stat: option requires an argument -- 'c'\n")
    if (files.length === 0) return fail(1, "stat: missing operand\nTry 'stat --help' for more information.\n")
    let out = ""
    let err = ""
    let code = 0
    for (const f of files) {
      const p = abs(ctx, f)
      let st = await Paths.lstatOrUndefined(ctx.fs, p)
      if (st && follow && st.isSymbolicLink) st = await ctx.fs.stat(p).catch(() => undefined)
      if (!st) {
        err += gnu ? `stat: cannot statx '${f}': No such file or directory\n` : `stat: can't stat '${f}': No such file or directory\n`
        code = 1
        continue
      }
      if (fmt === undefined) out += defaultStat(machine, p, f, st)
      else if (printf) out += escapes(statFormat(machine, fmt, p, f, st))
      else out += `${statFormat(machine, fmt, p, f, st)}\n`
    }
    return { stdout: out, stderr: err, exitCode: code }
  })

// -------------------------------------------------------------------------------------------------
// readlink
// -------------------------------------------------------------------------------------------------

const readlinkCommand = (machine: Machine): Command =>
  defineCommand("readlink", async (args, ctx) => {
    let mode: "none" | "f" | "e" | "m" = "none"
    let newline = true
    const files: Array<string> = []
    let opts = true
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && /^-[femnqsvz]+$/.test(a)) {
        for (const c of a.slice(1)) {
          if (c === "f" || c === "e" || c === "m") mode = c
          if (c === "n") newline = false
        }
      } else if (opts && a === "--canonicalize") mode = "f"
      else if (opts && a === "--canonicalize-existing") mode = "e"
      else if (opts && a === "--canonicalize-missing") mode = "m"
      else if (opts && a.startsWith("-") && a !== "-") {
        return fail(1, machine.flavour === "gnu" ? `readlink: unrecognized option '${a}'\nTry 'readlink --help' for more information.\n` : `readlink: unrecognized option '${a}'\n`)
      } else files.push(a)
    }
    if (files.length === 0) return fail(1, "readlink: missing operand\nTry 'readlink --help' for more information.\n")
    let out = ""
    let code = 0
    for (const f of files) {
      if (mode === "none") {
        const st = await lstat(ctx, f)
        if (!st?.isSymbolicLink) {
          code = 1
          continue
        }
        out += (await ctx.fs.readlink(abs(ctx, f))) + (newline ? "\n" : "")
        continue
      }
      const real =
        mode === "m"
          ? Paths.normalize(f, ctx.cwd)
          : await Paths.canonicalize(ctx.fs, f, { cwd: ctx.cwd, allowMissingLast: mode === "f" })
      if (real === undefined) {
        code = 1
        continue
      }
      out += real + (newline ? "\n" : "")
    }
    return { stdout: out, stderr: "", exitCode: code }
  })

// -------------------------------------------------------------------------------------------------
// sha256sum
// -------------------------------------------------------------------------------------------------

const sha256Command = (machine: Machine): Command =>
  defineCommand("sha256sum", async (args, ctx) => {
    const gnu = machine.flavour === "gnu"
    let zero = false
    let check = false
    const files: Array<string> = []
    let opts = true
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && (a === "-z" || a === "--zero") && gnu) zero = true
      else if (opts && (a === "-b" || a === "-t" || a === "--binary" || a === "--text")) continue
      else if (opts && (a === "-c" || a === "--check")) check = true
      else if (opts && a.startsWith("-") && a !== "-") {
        return fail(1, gnu ? `sha256sum: unrecognized option '${a}'\nTry 'sha256sum --help' for more information.\n` : `sha256sum: unrecognized option '${a}'\n`)
      } else files.push(a)
    }
    if (check) return fail(1, "sha256sum: --check is not supported here\n")
    if (files.length === 0) files.push("-")
    let out = ""
    let err = ""
    let code = 0
    for (const f of files) {
      let data: Uint8Array
      if (f === "-") data = Buffer.from(latin1FromBytes(ctx.stdin), "latin1")
      else {
        const p = abs(ctx, f)
        let st: FsStat | undefined
        try {
          st = await ctx.fs.stat(p)
        } catch {
          st = undefined
        }
        if (!st) {
          err += `sha256sum: ${f}: No such file or directory\n`
          code = 1
          continue
        }
        if (st.isDirectory) {
          err += `sha256sum: ${f}: Is a directory\n`
          code = 1
          continue
        }
        data = await ctx.fs.readFileBuffer(p)
      }
      const hex = createHash("sha256").update(data).digest("hex")
      if (zero) out += `${hex}  ${f}\0`
      else if (/[\\\n\r]/.test(f)) out += `\\${hex}  ${f.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")}\n`
      else out += `${hex}  ${f}\n`
    }
    return { stdout: out, stderr: err, exitCode: code }
  })

// -------------------------------------------------------------------------------------------------
// find
// -------------------------------------------------------------------------------------------------

type Pred =
  | { readonly k: "type"; readonly t: string }
  | { readonly k: "name"; readonly re: RegExp }
  | { readonly k: "path"; readonly re: RegExp }
  | { readonly k: "mtime"; readonly cmp: "+" | "-" | "="; readonly n: number }
  | { readonly k: "size"; readonly cmp: "+" | "-" | "="; readonly n: number; readonly unit: number }
  | { readonly k: "not"; readonly p: Pred }
  | { readonly k: "newer"; readonly ms: number }
  | { readonly k: "empty" }

type Action =
  | { readonly k: "print"; readonly sep: string }
  | { readonly k: "printf"; readonly fmt: string }
  | { readonly k: "delete" }
  | { readonly k: "exec"; readonly argv: ReadonlyArray<string>; readonly plus: boolean }

const globRe = (g: string, flags = ""): RegExp => {
  let src = ""
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!
    if (c === "*") src += ".*"
    else if (c === "?") src += "."
    else if (c === "[") {
      const end = g.indexOf("]", i + 1)
      if (end > i) {
        src += `[${g.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`
        i = end
      } else src += "\\["
    } else if (c === "\\" && i + 1 < g.length) src += `\\${g[++i]}`
    else src += c.replace(/[.+^$(){}|\\/]/g, "\\$&")
  }
  return new RegExp(`^${src}$`, `s${flags}`)
}

const typeLetter = (st: FsStat) => (st.isSymbolicLink ? "l" : st.isDirectory ? "d" : "f")

const findCommand = (machine: Machine): Command =>
  defineCommand("find", async (args, ctx) => {
    const gnu = machine.flavour === "gnu"
    if (args[0] === "--version") {
      return gnu
        ? ok("find (GNU findutils) 4.10.0\nCopyright (C) 2024 Free Software Foundation, Inc.\nLicense GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\nThis is free software: you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by law.\n\nWritten by Eric B. Decker, James Youngman, and Kevin Dalley.\nFeatures enabled: D_TYPE O_NOFOLLOW(enabled) LEAF_OPTIMISATION FTS(FTS_CWDFD) CBO(level=2)\n")
        : fail(1, "find: unrecognized option: version\nBusyBox v1.36.1 (2024-06-10 07:11:47 UTC) multi-call binary.\n\nUsage: find [-HL] [PATH]... [OPTIONS] [ACTIONS]\n")
    }
    const roots: Array<string> = []
    let i = 0
    while (i < args.length && !args[i]!.startsWith("-") && args[i] !== "!" && args[i] !== "(") roots.push(args[i++]!)
    if (roots.length === 0) roots.push(".")
    let xdev = false
    let maxdepth = Infinity
    let mindepth = 0
    const preds: Array<Pred> = []
    const actions: Array<Action> = []
    let negate = false
    const push = (p: Pred) => {
      preds.push(negate ? { k: "not", p } : p)
      negate = false
    }
    const nowMs = machine.time.now()
    for (; i < args.length; i++) {
      const a = args[i]!
      const next = () => {
        const v = args[++i]
        if (v === undefined) throw new FindError(`find: missing argument to \`${a}'\n`)
        return v
      }
      try {
        switch (a) {
          case "-xdev":
          case "-mount":
            xdev = true
            break
          case "-maxdepth":
            maxdepth = Number(next())
            break
          case "-mindepth":
            mindepth = Number(next())
            break
          case "!":
          case "-not":
            negate = !negate
            break
          case "-a":
          case "-and":
            break
          case "-type":
            push({ k: "type", t: next() })
            break
          case "-name":
            push({ k: "name", re: globRe(next()) })
            break
          case "-iname":
            push({ k: "name", re: globRe(next(), "i") })
            break
          case "-path":
          case "-wholename":
            push({ k: "path", re: globRe(next()) })
            break
          case "-empty":
            push({ k: "empty" })
            break
          case "-newer": {
            const ref = await lstat(ctx, next())
            if (!ref) return fail(1, `find: '${args[i]}': No such file or directory\n`)
            push({ k: "newer", ms: ref.mtime.getTime() })
            break
          }
          case "-mtime": {
            const v = next()
            const m = /^([+-]?)(\d+)$/.exec(v)
            if (!m) return fail(1, `find: invalid argument \`${v}' to \`-mtime'\n`)
            push({ k: "mtime", cmp: (m[1] || "=") as "+" | "-" | "=", n: Number(m[2]) })
            break
          }
          case "-size": {
            const v = next()
            const m = /^([+-]?)(\d+)([ckMGb]?)$/.exec(v)
            if (!m) return fail(1, `find: invalid -size type\n`)
            const unit = { "": 512, b: 512, c: 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[3] as "" | "b" | "c" | "k" | "M" | "G"]
            push({ k: "size", cmp: (m[1] || "=") as "+" | "-" | "=", n: Number(m[2]), unit })
            break
          }
          case "-print":
            actions.push({ k: "print", sep: "\n" })
            break
          case "-print0":
            actions.push({ k: "print", sep: "\0" })
            break
          case "-printf":
            if (!gnu) return fail(1, "find: unrecognized: -printf\nBusyBox v1.36.1 (2024-06-10 07:11:47 UTC) multi-call binary.\n\nUsage: find [-HL] [PATH]... [OPTIONS] [ACTIONS]\n")
            actions.push({ k: "printf", fmt: next() })
            break
          case "-delete":
            actions.push({ k: "delete" })
            break
          case "-exec": {
            const argv: Array<string> = []
            let plus = false
            for (i++; i < args.length; i++) {
              if (args[i] === ";") break
              if (args[i] === "+" && argv[argv.length - 1] === "{}") {
                plus = true
                break
              }
              argv.push(args[i]!)
            }
            if (i >= args.length) return fail(1, "find: missing argument to `-exec'\n")
            actions.push({ k: "exec", argv, plus })
            break
          }
          default:
            if (a.startsWith("-")) {
              return gnu ? fail(1, `find: unknown predicate \`${a}'\n`) : fail(1, `find: unrecognized: ${a}\n`)
            }
            return gnu ? fail(1, `find: paths must precede expression: \`${a}'\n`) : fail(1, `find: unrecognized: ${a}\n`)
        }
      } catch (e) {
        if (e instanceof FindError) return fail(1, e.message)
        throw e
      }
    }
    if (actions.length === 0) actions.push({ k: "print", sep: "\n" })

    const mounts = machine.vfs.getMounts().map((m) => m.mountPoint)
    const test = (p: Pred, path: string, st: FsStat, name: string, size: number): boolean => {
      switch (p.k) {
        case "type":
          return p.t.split(",").includes(typeLetter(st))
        case "name":
          return p.re.test(name)
        case "path":
          return p.re.test(path)
        case "empty":
          return st.isDirectory ? false : size === 0
        case "newer":
          return st.mtime.getTime() > p.ms
        case "mtime": {
          const days = Math.floor((nowMs - st.mtime.getTime()) / 86_400_000)
          return p.cmp === "+" ? days > p.n : p.cmp === "-" ? days < p.n : days === p.n
        }
        case "size": {
          const units = Math.ceil(size / p.unit)
          return p.cmp === "+" ? units > p.n : p.cmp === "-" ? units < p.n : units === p.n
        }
        case "not":
          return !test(p.p, path, st, name, size)
      }
    }

    let out = ""
    let err = ""
    let code = 0
    const execBatches: Map<number, Array<string>> = new Map()
    const toDelete: Array<string> = []

    const visit = async (display: string, p: string, depth: number, rootDev: string | undefined): Promise<void> => {
      const st = await Paths.lstatOrUndefined(ctx.fs, p)
      if (!st) {
        err += `find: '${display}': No such file or directory\n`
        code = 1
        return
      }
      const name = depth === 0 ? display.replace(/\/+$/, "").split("/").pop() || display : Paths.basename(p)
      const size = st.isDirectory ? 4096 : st.size
      if (depth >= mindepth && preds.every((pr) => test(pr, display, st, name, size))) {
        for (let ai = 0; ai < actions.length; ai++) {
          const act = actions[ai]!
          if (act.k === "print") out += display + act.sep
          else if (act.k === "printf") out += findPrintf(machine, act.fmt, display, p, st, depth, root(display, depth))
          else if (act.k === "delete") toDelete.push(p)
          else if (act.plus) {
            const list = execBatches.get(ai) ?? []
            list.push(display)
            execBatches.set(ai, list)
          } else {
            const r = await runExec(ctx, act.argv.map((x) => x.replace(/\{\}/g, display)))
            out += r.stdout
            err += r.stderr
          }
        }
      }
      if (!st.isDirectory || depth >= maxdepth) return
      const dev = mountOf(mounts, p)
      if (xdev && depth > 0 && dev !== rootDev) return
      let names: Array<string>
      try {
        names = await ctx.fs.readdir(p)
      } catch {
        err += `find: '${display}': Permission denied\n`
        code = 1
        return
      }
      for (const n of names) {
        const child = p === "/" ? `/${n}` : `${p}/${n}`
        if (xdev && mounts.includes(child)) {
          // GNU find lists the mount point itself but does not descend.
          const cst = await Paths.lstatOrUndefined(ctx.fs, child)
          if (cst && depth + 1 >= mindepth && preds.every((pr) => test(pr, joinDisplay(display, n), cst, n, cst.size))) {
            for (const act of actions) {
              if (act.k === "print") out += joinDisplay(display, n) + act.sep
              else if (act.k === "printf") out += findPrintf(machine, act.fmt, joinDisplay(display, n), child, cst, depth + 1, root(display, depth))
            }
          }
          continue
        }
        await visit(joinDisplay(display, n), child, depth + 1, rootDev)
      }
    }
    const rootsOf = new Map<string, string>()
    const root = (display: string, _depth: number) => rootsOf.get(display) ?? display
    for (const r of roots) {
      const p = abs(ctx, r)
      rootsOf.set(r, r)
      await visit(r, p, 0, mountOf(mounts, p))
    }
    for (const [ai, list] of execBatches) {
      const act = actions[ai] as Extract<Action, { k: "exec" }>
      const argv = act.argv.slice(0, -1).concat(list)
      const r = await runExec(ctx, argv)
      out += r.stdout
      err += r.stderr
      if (r.exitCode !== 0) code = 1
    }
    for (const p of toDelete.reverse()) {
      try {
        await ctx.fs.rm(p, { recursive: false })
        machine.owners.remove(p)
      } catch {
        err += `find: cannot delete '${p}': Directory not empty\n`
        code = 1
      }
    }
    return { stdout: out, stderr: err, exitCode: code }
  })

class FindError extends Error {}

const joinDisplay = (dir: string, name: string) => (dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`)

const mountOf = (mounts: ReadonlyArray<string>, p: string): string => {
  let best = "/"
  for (const m of mounts) if ((p === m || p.startsWith(`${m}/`)) && m.length > best.length) best = m
  return best
}

const runExec = async (ctx: Ctx, argv: ReadonlyArray<string>): Promise<ExecResult> => {
  if (!ctx.exec) return fail(126, "exec unavailable\n")
  return ctx.exec(argvLine(argv), { cwd: ctx.cwd, ...(ctx.signal ? { signal: ctx.signal } : {}) })
}

const findPrintf = (machine: Machine, fmt: string, display: string, p: string, st: FsStat, depth: number, rootDisplay: string): string => {
  const owner = machine.owners.get(p)
  const body = fmt.replace(/%(T@|[psmMUGuglyfhdkbPtH%])/g, (_m, c: string) => {
    switch (c) {
      case "%":
        return "%"
      case "p":
        return display
      case "P":
        return display === rootDisplay ? "" : display.slice(rootDisplay.length).replace(/^\//, "")
      case "f":
        return Paths.basename(display) || display
      case "h":
        return display.includes("/") ? display.slice(0, display.lastIndexOf("/")) || "/" : "."
      case "s":
        return String(st.isDirectory ? 4096 : st.size)
      case "m":
        return (st.mode & 0o7777).toString(8)
      case "M":
        return Paths.modeString(st)
      case "U":
        return String(owner.uid)
      case "G":
        return String(owner.gid)
      case "u":
        return Owners.userName(owner.uid)
      case "g":
        return Owners.groupName(owner.gid)
      case "l":
        return ""
      case "y":
        return typeLetter(st)
      case "d":
        return String(depth)
      case "k":
        return String(Math.ceil((st.isDirectory ? 4096 : st.size) / 1024))
      case "b":
        return String(Math.ceil((st.isDirectory ? 4096 : st.size) / 512))
      case "H":
        return rootDisplay
      case "t":
        return new Date(st.mtime.getTime()).toUTCString()
      case "T@": {
        const ms = st.mtime.getTime()
        return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}0000000`
      }
      default:
        return ""
    }
  })
  return escapes(body)
}

// -------------------------------------------------------------------------------------------------
// xargs
// -------------------------------------------------------------------------------------------------

const xargsCommand = (machine: Machine): Command =>
  defineCommand("xargs", async (args, ctx) => {
    let zero = false
    let noEmpty = machine.flavour === "busybox"
    let n = Infinity
    let i = 0
    for (; i < args.length; i++) {
      const a = args[i]!
      if (a === "--") {
        i++
        break
      }
      if (!a.startsWith("-") || a === "-") break
      if (a === "-0" || a === "--null") zero = true
      else if (a === "-r" || a === "--no-run-if-empty") noEmpty = true
      else if (a === "-n") n = Number(args[++i])
      else if (/^-n\d+$/.test(a)) n = Number(a.slice(2))
      else if (/^-[0r]+$/.test(a)) {
        if (a.includes("0")) zero = true
        if (a.includes("r")) noEmpty = true
      } else return fail(1, `xargs: invalid option -- '${a.replace(/^-+/, "")}'\nUsage: xargs [OPTION]... COMMAND [INITIAL-ARGS]...\nTry 'xargs --help' for more information.\n`)
    }
    const base = args.slice(i)
    if (base.length === 0) base.push("echo")
    const input = latin1FromBytes(ctx.stdin)
    const text = Buffer.from(input, "latin1").toString("utf8")
    const items = zero ? text.split("\0").filter((x, idx, arr) => !(x === "" && idx === arr.length - 1)) : splitWords(text)
    if (items.length === 0 && noEmpty) return ok()
    const batches: Array<Array<string>> = []
    if (items.length === 0) batches.push([])
    for (let k = 0; k < items.length; k += Number.isFinite(n) ? n : items.length) batches.push(items.slice(k, k + (Number.isFinite(n) ? n : items.length)))
    let out = ""
    let err = ""
    let status = 0
    for (const batch of batches) {
      const r = await runExec(ctx, [...base, ...batch])
      out += typeof r.stdout === "string" ? r.stdout : ""
      err += r.stderr
      if (r.exitCode === 127 || r.exitCode === 126) {
        if (/command not found/.test(r.stderr)) {
          err = err.replace(/bash: ([^:]+): command not found\n$/, "xargs: $1: No such file or directory\n")
        }
        return { stdout: out, stderr: err, exitCode: r.exitCode }
      }
      if (r.exitCode === 255) {
        err += `xargs: ${base[0]}: exited with status 255; aborting\n`
        return { stdout: out, stderr: err, exitCode: 124 }
      }
      if (r.exitCode > 128) return { stdout: out, stderr: err + `xargs: ${base[0]}: terminated by signal ${r.exitCode - 128}\n`, exitCode: 125 }
      if (r.exitCode >= 1 && r.exitCode <= 125) status = 123
    }
    return { stdout: out, stderr: err, exitCode: status }
  })

const splitWords = (s: string): Array<string> => {
  const out: Array<string> = []
  let cur = ""
  let has = false
  let q: string | undefined
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (q) {
      if (c === q) q = undefined
      else cur += c
    } else if (c === "'" || c === '"') {
      q = c
      has = true
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i]
      has = true
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur)
      cur = ""
      has = false
    } else {
      cur += c
      has = true
    }
  }
  if (has || cur) out.push(cur)
  return out
}

// -------------------------------------------------------------------------------------------------
// mktemp
// -------------------------------------------------------------------------------------------------

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

const mktempCommand = (machine: Machine): Command =>
  defineCommand("mktemp", async (args, ctx) => {
    let dir = false
    let parent: string | undefined
    let tmpdirFlag = false
    let dry = false
    let template: string | undefined
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-d" || a === "--directory") dir = true
      else if (a === "-u" || a === "--dry-run") dry = true
      else if (a === "-q" || a === "--quiet") continue
      else if (a === "-p") parent = args[++i]
      else if (a.startsWith("--tmpdir=")) parent = a.slice(9)
      else if (a === "--tmpdir" || a === "-t") tmpdirFlag = true
      else if (a === "--") template = args[++i]
      else if (a.startsWith("-")) return fail(1, `mktemp: unrecognized option '${a}'\nTry 'mktemp --help' for more information.\n`)
      else template = a
    }
    template ??= "tmp.XXXXXXXXXX"
    const xs = /X{3,}$/.exec(template)
    if (!xs) return fail(1, `mktemp: too few X's in template '${template}'\n`)
    if (parent === undefined && (tmpdirFlag || !template.includes("/"))) parent = ctx.env.get("TMPDIR") ?? "/tmp"
    const full = parent !== undefined && !template.startsWith("/") ? `${parent.replace(/\/+$/, "")}/${template}` : template
    const p = abs(ctx, full)
    const parentStat = await Paths.lstatOrUndefined(ctx.fs, Paths.dirname(p))
    if (!parentStat) {
      return fail(1, `mktemp: failed to create ${dir ? "directory" : "file"} via template '${full}': No such file or directory\n`)
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      let rand = ""
      for (let k = 0; k < xs[0].length; k++) rand += ALNUM[Math.floor(machine.random() * ALNUM.length)]
      const name = full.slice(0, full.length - xs[0].length) + rand
      const target = abs(ctx, name)
      if (await Paths.lstatOrUndefined(ctx.fs, target)) continue
      if (!dry) {
        if (dir) {
          await ctx.fs.mkdir(target)
          await ctx.fs.chmod(target, 0o700)
        } else {
          await ctx.fs.writeFile(target, "")
          await ctx.fs.chmod(target, 0o600)
        }
        machine.owners.remove(target)
      }
      return ok(`${name}\n`)
    }
    return fail(1, `mktemp: failed to create file via template '${full}': File exists\n`)
  })

// -------------------------------------------------------------------------------------------------
// tail
// -------------------------------------------------------------------------------------------------

const tailCommand = (): Command =>
  defineCommand("tail", async (args, ctx) => {
    let n = 10
    let fromStart = false
    let bytesMode = false
    const files: Array<string> = []
    let opts = true
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      const count = (v: string | undefined) => {
        if (v === undefined || !/^[+-]?\d+$/.test(v)) throw new FindError(`tail: invalid number of lines: '${v ?? ""}'\n`)
        fromStart = v.startsWith("+")
        n = Math.abs(Number(v))
      }
      try {
        if (opts && a === "--") opts = false
        else if (opts && (a === "-n" || a === "--lines")) count(args[++i])
        else if (opts && /^--lines=/.test(a)) count(a.slice(8))
        else if (opts && /^-n[+-]?\d+$/.test(a)) count(a.slice(2))
        else if (opts && a === "-c") {
          bytesMode = true
          count(args[++i])
        } else if (opts && /^-\d+$/.test(a)) n = Number(a.slice(1))
        else if (opts && (a === "-q" || a === "-s")) continue
        else if (opts && a.startsWith("-") && a !== "-") return fail(1, `tail: unrecognized option '${a}'\nTry 'tail --help' for more information.\n`)
        else files.push(a)
      } catch (e) {
        if (e instanceof FindError) return fail(1, e.message)
        throw e
      }
    }
    if (files.length === 0) files.push("-")
    let out = ""
    let err = ""
    let code = 0
    for (const f of files) {
      let data: Buffer
      if (f === "-") data = Buffer.from(latin1FromBytes(ctx.stdin), "latin1")
      else {
        try {
          data = Buffer.from(await ctx.fs.readFileBuffer(abs(ctx, f)))
        } catch {
          err += `tail: cannot open '${f}' for reading: No such file or directory\n`
          code = 1
          continue
        }
      }
      if (files.length > 1) out += `${out ? "\n" : ""}==> ${f} <==\n`
      if (bytesMode) {
        out += (fromStart ? data.subarray(Math.max(0, n - 1)) : data.subarray(Math.max(0, data.length - n))).toString("latin1")
        continue
      }
      const text = data.toString("latin1")
      const lines = text.split("\n")
      const trailing = text.endsWith("\n")
      if (trailing) lines.pop()
      const sel = fromStart ? lines.slice(Math.max(0, n - 1)) : n === 0 ? [] : lines.slice(-n)
      out += sel.join("\n") + (sel.length > 0 && (trailing || sel.length < lines.length || fromStart) ? (trailing ? "\n" : "") : "")
    }
    return { stdout: out, stdoutKind: "bytes", stderr: err, exitCode: code }
  })

// -------------------------------------------------------------------------------------------------
// mv, rm, chown, grep -a
// -------------------------------------------------------------------------------------------------

const mvCommand = (machine: Machine): Command =>
  defineCommand("mv", async (args, ctx) => {
    const operands: Array<string> = []
    let opts = true
    let noClobber = false
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && /^-[fivnuT]+$/.test(a)) noClobber = a.includes("n") ? true : noClobber
      else if (opts && (a === "--force" || a === "--no-target-directory")) continue
      else if (opts && a.startsWith("-") && a !== "-") return fail(1, `mv: unrecognized option '${a}'\nTry 'mv --help' for more information.\n`)
      else operands.push(a)
    }
    if (operands.length < 2) return fail(1, operands.length === 0 ? "mv: missing file operand\n" : `mv: missing destination file operand after '${operands[0]}'\n`)
    const dest = operands.pop()!
    const destAbs = abs(ctx, dest)
    const destStat = await ctx.fs.stat(destAbs).catch(() => undefined)
    if (operands.length > 1 && !destStat?.isDirectory) return fail(1, `mv: target '${dest}' is not a directory\n`)
    let err = ""
    let code = 0
    for (const src of operands) {
      const s = abs(ctx, src)
      if (!(await Paths.lstatOrUndefined(ctx.fs, s))) {
        err += `mv: cannot stat '${src}': No such file or directory\n`
        code = 1
        continue
      }
      const target = destStat?.isDirectory ? `${destAbs === "/" ? "" : destAbs}/${Paths.basename(s)}` : destAbs
      if (noClobber && (await Paths.lstatOrUndefined(ctx.fs, target))) continue
      const parent = await ctx.fs.stat(Paths.dirname(target)).catch(() => undefined)
      if (!parent?.isDirectory) {
        err += `mv: cannot move '${src}' to '${dest}': No such file or directory\n`
        code = 1
        continue
      }
      const existing = await Paths.lstatOrUndefined(ctx.fs, target)
      if (existing && !existing.isDirectory) await ctx.fs.rm(target)
      await ctx.fs.mv(s, target)
      machine.owners.move(s, target)
    }
    return { stdout: "", stderr: err, exitCode: code }
  })

const rmCommand = (machine: Machine): Command =>
  defineCommand("rm", async (args, ctx) => {
    const paths: Array<string> = []
    const flags: Array<string> = []
    let opts = true
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && a.startsWith("-") && a !== "-") flags.push(a)
      else paths.push(a)
    }
    if (!ctx.origCommand) return fail(1, "rm: unavailable\n")
    const r = await ctx.origCommand([...flags, ...(paths.some((p) => p.startsWith("-")) ? ["--"] : []), ...paths])
    for (const p of paths) {
      const a = abs(ctx, p)
      if (!(await Paths.lstatOrUndefined(ctx.fs, a))) machine.owners.remove(a)
    }
    return r
  })

const resolveId = (name: string, users: boolean): number | undefined => {
  if (/^\d+$/.test(name)) return Number(name)
  const table = users
    ? { root: 0, daemon: 1, "www-data": 33, _apt: 100, nobody: 65534, admin: 1000 }
    : { root: 0, daemon: 1, "www-data": 33, video: 44, render: 104, nogroup: 65534, admin: 1000 }
  return (table as Record<string, number>)[name]
}

const chownCommand = (machine: Machine): Command =>
  defineCommand("chown", async (args, ctx) => {
    let recursive = false
    const rest: Array<string> = []
    let opts = true
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && /^-[Rhvfc]+$/.test(a)) recursive = recursive || a.includes("R")
      else rest.push(a)
    }
    const spec = rest.shift()
    if (spec === undefined || rest.length === 0) return fail(1, "chown: missing operand\nTry 'chown --help' for more information.\n")
    const [u, g] = spec.split(/[:.]/)
    const uid = u ? resolveId(u, true) : undefined
    const gid = g ? resolveId(g, false) : undefined
    if (u && uid === undefined) return fail(1, `chown: invalid user: '${spec}'\n`)
    if (g && gid === undefined) return fail(1, `chown: invalid group: '${spec}'\n`)
    let err = ""
    let code = 0
    const apply = async (p: string) => {
      const cur = machine.owners.get(p)
      machine.owners.set(p, { uid: uid ?? cur.uid, gid: gid ?? cur.gid })
      const st = await Paths.lstatOrUndefined(ctx.fs, p)
      if (recursive && st?.isDirectory) for (const n of await ctx.fs.readdir(p)) await apply(`${p === "/" ? "" : p}/${n}`)
    }
    for (const f of rest) {
      const p = abs(ctx, f)
      if (!(await Paths.lstatOrUndefined(ctx.fs, p))) {
        err += `chown: cannot access '${f}': No such file or directory\n`
        code = 1
        continue
      }
      await apply(p)
    }
    return { stdout: "", stderr: err, exitCode: code }
  })

const grepCommand = (): Command =>
  defineCommand("grep", async (args, ctx) => {
    if (!ctx.origCommand) return fail(2, "grep: unavailable\n")
    const cleaned: Array<string> = []
    let opts = true
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (opts && a === "--") {
        opts = false
        cleaned.push(a)
      } else if (opts && (a === "-a" || a === "--text" || a === "--binary-files=text")) continue
      else if (opts && /^-[A-Za-z]+$/.test(a) && a.includes("a") && !/[efABCmd]/.test(a.slice(0, a.indexOf("a")))) {
        cleaned.push(a.replace(/a/g, ""))
      } else {
        if (opts && /^-[efABCm]$/.test(a)) {
          cleaned.push(a, args[++i] ?? "")
          continue
        }
        cleaned.push(a)
      }
    }
    return ctx.origCommand(cleaned)
  })

// -------------------------------------------------------------------------------------------------
// ls -l (GNU long format with the owner table); other listings stay just-bash's
// -------------------------------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

const lsCommand = (machine: Machine): Command =>
  defineCommand("ls", async (args, ctx) => {
    const flags = new Set<string>()
    const paths: Array<string> = []
    let opts = true
    for (const a of args) {
      if (opts && a === "--") opts = false
      else if (opts && /^-[A-Za-z1]+$/.test(a)) for (const c of a.slice(1)) flags.add(c)
      else if (opts && a.startsWith("--")) flags.add(a)
      else paths.push(a)
    }
    const supported = [...flags].every((f) => ["l", "a", "A", "d", "h", "n", "1"].includes(f))
    if (!flags.has("l") || !supported) {
      if (!ctx.origCommand) return fail(2, "ls: unavailable\n")
      return ctx.origCommand(args)
    }
    const nowMs = machine.time.now()
    const human = (n: number) => {
      if (!flags.has("h") || n < 1024) return String(n)
      const u = ["K", "M", "G", "T"]
      let v = n / 1024
      let i = 0
      while (v >= 1024 && i < u.length - 1) {
        v /= 1024
        i++
      }
      return `${v < 10 ? Math.ceil(v * 10) / 10 : Math.ceil(v)}${u[i]}`
    }
    const row = async (display: string, p: string) => {
      const st = await Paths.lstatOrUndefined(ctx.fs, p)
      if (!st) return undefined
      const o = machine.owners.get(p)
      const size = st.isDirectory ? 4096 : st.size
      const d = st.mtime
      const recent = Math.abs(nowMs - d.getTime()) < 182 * 86_400_000
      const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}` : ` ${d.getUTCFullYear()}`}`
      const name = st.isSymbolicLink ? `${display} -> ${await ctx.fs.readlink(p)}` : display
      return {
        blocks: Math.ceil(size / 4096) * 4,
        cols: [Paths.modeString(st), String(st.isDirectory ? 2 : 1), flags.has("n") ? String(o.uid) : Owners.userName(o.uid), flags.has("n") ? String(o.gid) : Owners.groupName(o.gid), human(size), when, name]
      }
    }
    const render = (rows: ReadonlyArray<{ cols: ReadonlyArray<string> }>) => {
      const w = [0, 1, 2, 3, 4].map((c) => Math.max(0, ...rows.map((r) => r.cols[c]!.length)))
      return rows.map((r) => `${r.cols[0]} ${r.cols[1]!.padStart(w[1]!)} ${r.cols[2]!.padEnd(w[2]!)} ${r.cols[3]!.padEnd(w[3]!)} ${r.cols[4]!.padStart(w[4]!)} ${r.cols[5]} ${r.cols[6]}\n`).join("")
    }
    if (paths.length === 0) paths.push(".")
    let out = ""
    let err = ""
    let code = 0
    const files: Array<{ blocks: number; cols: ReadonlyArray<string> }> = []
    const dirs: Array<[string, string]> = []
    for (const display of paths) {
      const p = abs(ctx, display)
      const st = await ctx.fs.stat(p).catch(() => undefined)
      const lst = await Paths.lstatOrUndefined(ctx.fs, p)
      if (!lst) {
        err += `ls: cannot access '${display}': No such file or directory\n`
        code = 2
        continue
      }
      if (st?.isDirectory && !flags.has("d") && !lst.isSymbolicLink) dirs.push([display, p])
      else {
        const r = await row(display, p)
        if (r) files.push(r)
      }
    }
    if (files.length > 0) out += render(files)
    for (const [display, p] of dirs) {
      const names = (await ctx.fs.readdir(p)).filter((n) => flags.has("a") || flags.has("A") || !n.startsWith("."))
      const entries = [...(flags.has("a") ? [".", ".."] : []), ...names.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))]
      const rows: Array<{ blocks: number; cols: ReadonlyArray<string> }> = []
      for (const n of entries) {
        const child = n === "." ? p : n === ".." ? Paths.dirname(p) : `${p === "/" ? "" : p}/${n}`
        const r = await row(n, child)
        if (r) rows.push(r)
      }
      if (paths.length > 1 || files.length > 0) out += `${out ? "\n" : ""}${display}:\n`
      out += `total ${rows.reduce((a, r) => a + r.blocks, 0)}\n${render(rows)}`
    }
    return { stdout: out, stderr: err, exitCode: code }
  })

/** The file primitives for one machine. */
export const commands = (machine: Machine): ReadonlyArray<Command> => [
  statCommand(machine),
  readlinkCommand(machine),
  sha256Command(machine),
  findCommand(machine),
  xargsCommand(machine),
  mktempCommand(machine),
  tailCommand(),
  mvCommand(machine),
  rmCommand(machine),
  chownCommand(machine),
  lsCommand(machine),
  grepCommand()
]

