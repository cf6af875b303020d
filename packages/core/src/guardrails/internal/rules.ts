/**
 * @internal Rule tables of guardrails.md §1.2–§1.4 and the heavy annotation, applied to one normalized
 * simple command (program basename + evaluated argument fields). Paths are judged on patterns resolved
 * against the tracked cwd (see pathPattern.ts).
 */
import type { Scope, Stdin } from "./analyze.js"
import { hasLong, hasShort, parseArgs } from "./args.js"
import { ancestorOrEqual, type Match, type PathPattern, resolvePattern, underOrEqual } from "./pathPattern.js"
import { DYN, fieldMatches, fieldRegex, isDynamic, isGlob, show } from "./shell.js"

export const PVE = "/etc/pve"
/** The pmxcfs database behind /etc/pve. */
export const PMXCFS_DB = "/var/lib/pve-cluster"
/** Local guest images and backups. */
const LOCAL_STORAGE = "/var/lib/vz"

/** Top-level system directories (guardrails.md §1.3). */
export const SYSTEM_DIRS = ["bin", "boot", "dev", "etc", "home", "lib", "lib64", "opt", "root", "sbin", "srv", "usr", "var"] as const

const KERNEL_TARGETS = ["/proc/sysrq-trigger", "/dev/mem", "/dev/kmem", "/dev/port"]

/** Program names with rules; a globbed program name is checked against these. */
export const KNOWN_PROGRAMS = [
  "reboot", "shutdown", "halt", "poweroff", "init", "telinit", "systemctl", "service", "kexec",
  "rm", "rmdir", "unlink", "shred", "truncate", "mv", "cp", "install", "rsync", "dd", "sed", "perl", "tee", "ln",
  "chmod", "chown", "chgrp", "find", "mkfs", "mke2fs", "mkswap", "wipefs", "sgdisk", "blkdiscard",
  "pvecm", "pveum", "pvesh", "qm", "pct", "zpool", "zfs", "vgremove", "pvremove", "pvesm", "lvremove", "lvreduce",
  "umount", "fsck", "e2fsck", "xfs_repair", "apt", "apt-get", "aptitude", "dpkg", "kill", "killall5", "pkill",
  "ifdown", "ifreload", "ip", "iptables", "ip6tables", "nft", "vzdump", "qmrestore", "ifconfig", "parted", "sfdisk", "tar", "curl", "wget",
  "unzip", "sqlite3", "setfacl", "chattr", "invoke-rc.d", "killall", "cryptsetup", "pvcreate", "nvme", "hdparm", "badblocks", "mdadm",
  "fdisk", "gdisk", "cfdisk", "vgcreate", "lvresize", "resize2fs"
]

// ---------------------------------------------------------------------------------------------------
// Path checks
// ---------------------------------------------------------------------------------------------------

const pathOf = (field: string, scope: Scope): PathPattern => resolvePattern(field, scope.cwd)

const DEVICE_SAMPLES = ["sda", "sdb1", "nvme0n1", "nvme0n1p1", "vda", "vdb2", "xvda", "hda", "mmcblk0", "mmcblk0p1", "dm-0", "md0", "md127", "zd0", "zd16p1"]
const DEVICE_PREFIX = /^(sd|nvme|vd|xvd|hd|mmcblk|dm-|md|zd)/
const DEVICE_DIRS = ["mapper", "zvol", "pve", "disk"]

/** Does the pattern name a block device (guardrails.md §1.3)? */
export const blockDevice = (p: PathPattern): Match => {
  if (p.kind !== "abs") return p.kind === "unknown" ? "maybe" : "no"
  const [d, name] = p.segs
  if (d === undefined) return "no"
  if (!fieldMatches(d, "dev")) return "no"
  if (name === undefined) return p.open ? "maybe" : "no"
  if (isGlob(name)) {
    const re = fieldRegex(name)
    if (DEVICE_SAMPLES.some((s) => re.test(s))) return "yes"
    if (DEVICE_DIRS.some((s) => re.test(s)) && (p.segs.length >= 3 || p.open)) return "yes"
    return "no"
  }
  if (DEVICE_PREFIX.test(name)) return "yes"
  if (DEVICE_DIRS.includes(name)) return p.segs.length >= 3 ? "yes" : p.open ? "maybe" : "no"
  return "no"
}

const isUnderDev = (p: PathPattern): boolean => p.kind === "abs" && p.segs.length >= 1 && fieldMatches(p.segs[0]!, "dev")

const kernelTarget = (p: PathPattern): string | undefined => {
  if (p.kind !== "abs" || p.open) return undefined
  return KERNEL_TARGETS.find((t) => {
    const segs = t.split("/").filter(Boolean)
    return segs.length === p.segs.length && segs.every((s, i) => fieldMatches(p.segs[i]!, s))
  })
}

/** `/`, `/*` or a top-level system dir (recursive operations there are deny). */
export const systemTarget = (p: PathPattern): Match => {
  if (p.kind === "unknown") return "maybe"
  if (p.kind === "relative") return "no"
  if (p.segs.length === 0) return p.open ? "maybe" : "yes"
  if (p.segs.length === 1 && SYSTEM_DIRS.some((d) => fieldMatches(p.segs[0]!, d))) return p.open ? "maybe" : "yes"
  return "no"
}

/** A direct child of a top-level system dir (`/var/lib`): recursive deletes there are confirm. */
const broadTarget = (p: PathPattern): Match => {
  if (p.kind !== "abs") return "no"
  if (p.segs.length === 2 && SYSTEM_DIRS.some((d) => fieldMatches(p.segs[0]!, d))) return p.open ? "maybe" : "yes"
  return "no"
}

const protectedFinding = (scope: Scope, m: Match, what: string, p: PathPattern): void => {
  if (m === "yes") scope.add("deny", `${what}: changes ${PVE} (protected, never allowed)`, true)
  else if (m === "maybe" && p.kind === "abs") scope.add("confirm", `${what}: may change ${PVE}; the path is only known at run time`)
}

/** Any write (redirect, tee, dd of=, cp/mv/install/rsync destination, in-place edit, chmod…). */
export const checkWrite = (field: string, scope: Scope, what: string): void => {
  const p = pathOf(field, scope)
  if (p.kind === "abs" && !p.open && !p.segs.some(isGlob)) scope.wrote(`/${p.segs.join("/")}`)
  if (scope.host) {
    protectedFinding(scope, underOrEqual(p, PVE), what, p)
    if (underOrEqual(p, PMXCFS_DB) === "yes") scope.add("deny", `${what}: changes ${PMXCFS_DB} (the cluster configuration database, protected)`, true)
  }
  const k = kernelTarget(p)
  if (k !== undefined) scope.add("deny", `${what}: writes to ${k}`)
  const dev = blockDevice(p)
  if (dev === "yes") scope.add("deny", `${what}: writes to the block device ${show(field)}`)
  else if (dev === "maybe" && p.kind === "abs") scope.add("confirm", `${what}: may write to a block device; the path is only known at run time`)
}

/** A removal (or move-away) of `field`; recursive removals are judged against the system dirs too. */
const checkRemove = (field: string, scope: Scope, what: string, recursive: boolean, broadRule = true): void => {
  const p = pathOf(field, scope)
  const sys = recursive ? systemTarget(p) : "no"
  if (scope.host) {
    let m = underOrEqual(p, PVE)
    // removing an ancestor of /etc/pve removes it too (/ and /etc are also system dirs, reported below)
    if (recursive && m === "no" && sys !== "yes") m = ancestorOrEqual(p, PVE) === "yes" ? "yes" : m
    protectedFinding(scope, m, what, p)
    if (underOrEqual(p, PMXCFS_DB) === "yes") scope.add("deny", `${what}: changes ${PMXCFS_DB} (the cluster configuration database, protected)`, true)
    if (recursive && underOrEqual(p, LOCAL_STORAGE) === "yes") scope.add("confirm", `${what}: recursive delete in ${LOCAL_STORAGE} (local guest images and backups)`)
  }
  if (!recursive) return
  if (sys === "yes") {
    const where = p.kind === "abs" && p.segs.length === 0 ? "the whole filesystem" : "a top-level system directory"
    scope.add("deny", `${what}: removes ${showPath(p)} (${where})`)
  }
  else if (sys === "maybe") scope.add("confirm", `${what}: recursive delete of a path only known at run time`)
  else if (broadRule) {
    const broad = broadTarget(p)
    if (broad === "yes") scope.add("confirm", `${what}: recursive delete of ${showPath(p)} (directly under a top-level system directory)`)
    else if (broad === "maybe") scope.add("confirm", `${what}: recursive delete under ${showPath(p)}; the path is only known at run time`)
  }
}

const showPath = (p: PathPattern): string =>
  p.kind === "abs" ? `/${p.segs.map(show).join("/")}${p.open ? "…" : ""}` : p.kind === "unknown" ? "a run-time path" : "a relative path"

/** Lexical `cd`: absolute and relative literal targets are tracked; anything else makes the cwd unknown. */
export const changeDir = (cwd: string | undefined, target: string | undefined): string | undefined => {
  if (target === undefined || target === "" ) return "/root"
  if (target === "-" || isDynamic(target) || isGlob(target)) return undefined
  let base: string
  if (target.startsWith("/")) base = target
  else if (cwd !== undefined) base = `${cwd}/${target}`
  else return undefined
  const segs: Array<string> = []
  for (const s of base.split("/")) {
    if (s === "" || s === ".") continue
    if (s === "..") segs.pop()
    else segs.push(s)
  }
  return `/${segs.join("/")}`
}

const basename = (f: string): string => f.split("/").filter(Boolean).pop() ?? f

const joinPath = (dir: string, name: string): string => `${dir.replace(/\/+$/, "")}/${name}`

/** Destination writes of cp/mv/install/ln/rsync: the destination and `dest/basename(source)`. */
const checkDestination = (dest: string, sources: ReadonlyArray<string>, scope: Scope, what: string): void => {
  checkWrite(dest, scope, what)
  for (const s of sources) {
    if (isDynamic(s)) continue
    checkWrite(joinPath(dest, basename(s)), scope, what)
  }
}

/**
 * rsync/scp destinations: a local path, or `[user@]host:path` on another machine. /etc/pve is shared by
 * every node of a cluster, so a remote destination under it is judged like a local one.
 */
const checkRemoteOrLocalDestination = (dest: string, sources: ReadonlyArray<string>, scope: Scope, prog: string): void => {
  const remote = /^(?:[^/@:]+@)?(\[[^\]]+\]|[^/:]+):(.*)$/.exec(dest)
  if (remote === null) return checkDestination(dest, sources, scope, `${prog} into ${show(dest)}`)
  const path = remote[2]!
  if (!path.startsWith("/")) return
  const local = sources.filter((s) => !/^(?:[^/@:]+@)?[^/:]+:/.test(s)).map((s) => s.replace(/^.*:/, ""))
  checkDestination(path, local, scope, `${prog} into ${show(dest)}`)
}

/** A recursive mode, owner, ACL or attribute change of `t`: deny on `/` or a top-level system directory. */
const recursiveModeChange = (t: string, scope: Scope, name: string): void => {
  const p = pathOf(t, scope)
  const sys = systemTarget(p)
  if (sys === "yes") scope.add("deny", `${name} -R on ${showPath(p)} (a top-level system directory)`)
  else if (sys === "maybe") scope.add("confirm", `${name} -R on a path only known at run time`)
  if (scope.host && ancestorOrEqual(p, PVE) === "yes") scope.add("deny", `${name} -R reaches ${PVE} (protected)`, true)
}

// ---------------------------------------------------------------------------------------------------
// find
// ---------------------------------------------------------------------------------------------------

const FIND_UNFILTERED = new Set(["-maxdepth", "-mindepth", "-depth", "-d", "-xdev", "-mount", "-print", "-print0", "-delete", "-ignore_readdir_race", "-noleaf", "-follow", "-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"])
const FIND_REMOVERS = new Set(["rm", "rmdir", "unlink", "shred", "truncate"])
const FIND_MODE_CHANGERS = new Set(["chmod", "chown", "chgrp", "setfacl", "chattr"])

/** `find`: `-exec/-execdir/-ok/-okdir` commands are classified with `{}` standing for a found path. */
export const find = (args: ReadonlyArray<string>, scope: Scope, run: (argv: ReadonlyArray<string>) => void): void => {
  let i = 0
  while (i < args.length && ["-H", "-L", "-P"].includes(args[i]!)) i++
  if (i < args.length && /^-O\d$/.test(args[i]!)) i++
  if (i < args.length && args[i] === "-D") i += 2
  const starts: Array<string> = []
  while (i < args.length && !args[i]!.startsWith("-") && args[i] !== "(" && args[i] !== "!" && args[i] !== ",") starts.push(args[i++]!)
  if (starts.length === 0) starts.push(".")
  let filtered = false
  let deletes = false
  const execs: Array<Array<string>> = []
  for (; i < args.length; i++) {
    const a = args[i]!
    if (a === "-exec" || a === "-execdir" || a === "-ok" || a === "-okdir") {
      const cmd: Array<string> = []
      i++
      while (i < args.length && args[i] !== ";" && args[i] !== "+") cmd.push(args[i++]!)
      execs.push(cmd)
      continue
    }
    if (a === "-delete") deletes = true
    else if (a.startsWith("-") && !FIND_UNFILTERED.has(a)) filtered = true
  }
  for (const start of starts) {
    const p = pathOf(start, scope)
    const sys = systemTarget(p)
    if (p.kind === "abs" && p.segs.length === 0 && !p.open) scope.heavy("find / (walks the whole filesystem)")
    const removes = deletes || execs.some((c) => c.length > 0 && FIND_REMOVERS.has(basename(c[0]!)))
    if (removes && sys === "yes") scope.add("deny", `find ${showPath(p)} with -delete/-exec rm (deletes across a top-level system directory)`)
    // `-exec chmod 777 {} +` over a whole system directory is `chmod -R`; over a filtered selection, asked
    const changer = execs.find((c) => c.length > 0 && FIND_MODE_CHANGERS.has(basename(c[0]!)))
    if (changer !== undefined && sys === "yes") {
      const what = `find ${showPath(p)} with -exec ${basename(changer[0]!)}`
      if (filtered) scope.add("confirm", `${what} (changes modes or owners of what it finds across a top-level system directory)`)
      else scope.add("deny", `${what} (changes modes or owners across a top-level system directory)`)
    }
    if (deletes) {
      if (filtered) checkRemove(joinPath(start, DYN), scope, "find -delete", false)
      else checkRemove(start, scope, "find -delete", true)
    }
    for (const cmd of execs) {
      if (cmd.length === 0) continue
      run(cmd.map((c) => c.split("{}").join(joinPath(start, DYN))))
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Program rules
// ---------------------------------------------------------------------------------------------------

const POWER_VERBS = new Set(["reboot", "poweroff", "halt", "kexec", "rescue", "emergency", "isolate", "soft-reboot", "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate", "default"])
const POWER_TARGETS = /^(reboot|poweroff|halt|kexec|rescue|emergency|soft-reboot|ctrl-alt-del)\.target$/
const SERVICE_VERBS = new Set(["stop", "restart", "disable", "mask", "kill", "try-restart", "reload-or-restart", "try-reload-or-restart", "condrestart", "force-reload"])
const CRITICAL_UNITS = new Set(["pveproxy", "pvedaemon", "pve-cluster", "corosync", "pvestatd", "ssh", "sshd", "networking", "pve-firewall", "pvescheduler"])
const unitName = (u: string): string => u.replace(/\.(service|socket)$/, "").replace(/@.*$/, "")
const GUEST_VERBS = new Set(["stop", "shutdown", "reset", "reboot", "rollback", "delsnapshot", "set", "unlock", "suspend", "hibernate", "push", "fsck"])
const APT_VERBS = new Set(["remove", "purge", "autoremove", "autopurge", "upgrade", "dist-upgrade", "full-upgrade"])
const PVEUM_VERBS = new Set(["add", "modify", "set", "delete", "remove", "mod", "del", "update", "change", "passwd"])
const PVEUM_LEGACY = /^(user|acl|role|group|realm|pool|token)(add|mod|del|modify|delete)$/
/** Guest agent calls that only read (`pvesh create …/agent/ping`, `…/agent/get-osinfo`, `…/agent/file-read`). */
const READ_ONLY_AGENT = /^nodes\/[^/]+\/qemu\/[^/]+\/agent\/(ping|info|get-[a-z-]+|network-get-interfaces|file-read|exec-status)$/
const PVECM_VERBS = new Set(["add", "addnode", "delnode", "qdevice", "expected"])

const operandsOf = (args: ReadonlyArray<string>, shortWithArg = "", longWithArg: ReadonlyArray<string> = []) =>
  parseArgs(args, { shortWithArg, longWithArg }).operands

const matchAll = (pattern: string): boolean => {
  try {
    const re = new RegExp(pattern)
    return ["systemd", "sshd", "pveproxy", "bash", "init"].every((s) => re.test(s))
  } catch {
    return false
  }
}

/** A shell-style glob (`*`, `?`, `[…]`) as an anchored regex; every other character is literal. */
const globRegex = (glob: string): RegExp => {
  let src = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    const close = c === "[" ? glob.indexOf("]", i + 2) : -1
    if (c === "*") src += ".*"
    else if (c === "?") src += "."
    else if (close > i) {
      src += "."
      i = close
    } else src += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  }
  return new RegExp(`^${src}$`)
}

const isPrefixOf = (word: string, full: string): boolean => word.length > 0 && full.startsWith(word)

/** Applies every rule for one normalized simple command. */
export const apply = (name: string, args: ReadonlyArray<string>, scope: Scope, _stdin: Stdin): void => {
  const host = scope.host
  const power = host ? "changes the node's power state" : "changes the guest's power state"
  switch (name) {
    // ----- power -----
    case "reboot":
    case "shutdown":
    case "halt":
    case "poweroff":
      scope.add("confirm", `${name} ${power}`)
      return
    case "init":
    case "telinit": {
      const level = operandsOf(args)[0]
      if (level !== undefined && ["0", "1", "6", "s", "S"].includes(level)) scope.add("confirm", `${name} ${level} ${power}`)
      return
    }
    case "kexec":
      if (hasShort(parseArgs(args, { shortWithArg: "lst" }), "e") || args.includes("--exec")) scope.add("deny", "kexec -e replaces the running kernel")
      else if (args.some((a) => a === "-l" || a === "--load" || a === "-f" || a === "--force")) scope.add("confirm", `kexec ${power}`)
      return
    case "systemctl": {
      const ops = operandsOf(args, "tpHMnos", ["type", "property", "host", "machine", "lines", "output", "signal", "kill-whom", "root", "state", "job-mode"])
      const verb = ops[0]
      if (verb === undefined) return
      const units = ops.slice(1)
      if (POWER_VERBS.has(verb)) scope.add("confirm", `systemctl ${verb} ${power}`)
      if (["start", "restart", "isolate", "enable"].includes(verb) && units.some((u) => POWER_TARGETS.test(u))) {
        scope.add("confirm", `systemctl ${verb} ${units.join(" ")} ${power}`)
      }
      if (SERVICE_VERBS.has(verb)) {
        const hit = units.filter((u) => {
          // systemctl matches unit globs itself, quoted or not
          const n = show(unitName(u))
          if (/[*?[]/.test(n)) {
            const re = globRegex(n)
            return [...CRITICAL_UNITS].some((c) => re.test(c) || re.test(`${c}.service`))
          }
          if (isDynamic(u)) return false
          return CRITICAL_UNITS.has(n)
        })
        if (hit.length > 0) scope.add("confirm", `systemctl ${verb} ${hit.join(" ")} can cut off access to the node`)
      }
      return
    }
    case "service":
    case "invoke-rc.d": {
      const [unit, verb] = operandsOf(args)
      if (unit !== undefined && verb !== undefined && SERVICE_VERBS.has(verb) && CRITICAL_UNITS.has(unitName(unit))) {
        scope.add("confirm", `${name} ${unit} ${verb} can cut off access to the node`)
      }
      return
    }

    // ----- deletes and writes -----
    case "rm": {
      const p = parseArgs(args, { longWithArg: [] })
      const recursive = hasShort(p, "rR") || hasLong(p, "recursive")
      for (const t of p.operands) checkRemove(t, scope, `rm ${show(t)}`, recursive)
      if (p.operands.length === 0 && recursive && args.some((a) => a === DYN)) checkRemove(DYN, scope, "rm", true)
      return
    }
    case "rmdir":
    case "unlink":
      for (const t of operandsOf(args)) checkRemove(t, scope, `${name} ${show(t)}`, false)
      return
    case "shred":
      for (const t of operandsOf(args, "ns", ["iterations", "size", "random-source"])) {
        const p = pathOf(t, scope)
        if (isUnderDev(p) && !["null", "zero"].includes(p.kind === "abs" ? p.segs[1] ?? "" : "")) scope.add("deny", `shred ${show(t)} wipes a device`)
        checkRemove(t, scope, `shred ${show(t)}`, false)
      }
      return
    case "truncate":
      for (const t of operandsOf(args, "sr", ["size", "reference"])) checkWrite(t, scope, `truncate ${show(t)}`)
      return
    case "mv": {
      const p = parseArgs(args, { shortWithArg: "tS", longWithArg: ["target-directory", "suffix"] })
      const dir = p.short.get("t")?.[0] ?? p.long.get("target-directory")?.[0]
      const sources = dir !== undefined ? p.operands : p.operands.slice(0, -1)
      const dest = dir ?? p.operands[p.operands.length - 1]
      // moving a tree away removes it from its place: / and system dirs are deny, /etc/pve protected
      for (const s of sources) checkRemove(s, scope, `mv ${show(s)}`, true, false)
      if (dest !== undefined && sources.length > 0) checkDestination(dest, sources, scope, `mv into ${show(dest)}`)
      return
    }
    case "cp":
    case "install": {
      const p = parseArgs(args, name === "cp"
        ? { shortWithArg: "tS", longWithArg: ["target-directory", "suffix"] }
        : { shortWithArg: "tSmogC", longWithArg: ["target-directory", "suffix", "mode", "owner", "group"] })
      const dir = p.short.get("t")?.[0] ?? p.long.get("target-directory")?.[0]
      if (name === "install" && p.short.has("d")) {
        for (const d of p.operands) checkWrite(d, scope, `install -d ${show(d)}`)
        return
      }
      const sources = dir !== undefined ? p.operands : p.operands.slice(0, -1)
      const dest = dir ?? p.operands[p.operands.length - 1]
      if (dest !== undefined && (sources.length > 0 || dir !== undefined)) checkDestination(dest, sources, scope, `${name} into ${show(dest)}`)
      return
    }
    case "rsync": {
      scope.heavy("rsync (bulk transfer)")
      const ops = operandsOf(args, "eTfM", ["rsh", "filter", "exclude", "include", "temp-dir", "log-file", "backup-dir", "password-file", "remote-option", "chmod", "chown", "rsync-path", "exclude-from", "include-from", "files-from"])
      const dest = ops[ops.length - 1]
      if (ops.length >= 2 && dest !== undefined) {
        checkRemoteOrLocalDestination(dest, ops.slice(0, -1), scope, "rsync")
        // --delete removes whatever the destination holds that the source lacks: `rsync -a --delete
        // /empty/ /` empties the filesystem, so a local destination is judged as a recursive delete
        const end = args.indexOf("--")
        const deletes = (end === -1 ? args : args.slice(0, end)).some((a) => a === "--del" || a.startsWith("--delete"))
        if (deletes && !/^(?:[^/@:]+@)?(\[[^\]]+\]|[^/:]+):/.test(dest)) checkRemove(dest, scope, `rsync --delete into ${show(dest)}`, true)
      }
      return
    }
    case "dd": {
      let deviceIo = false
      for (const a of args) {
        if (a.startsWith("of=")) {
          const t = a.slice(3)
          checkWrite(t, scope, `dd of=${show(t)}`)
          if (blockDevice(pathOf(t, scope)) !== "no") deviceIo = true
        }
      }
      // a write to a device is already deny; everything else is a bulk copy
      if (!deviceIo) scope.heavy("dd (bulk copy)")
      return
    }
    case "sed": {
      const p = parseArgs(args, { shortWithArg: "efl", longWithArg: ["expression", "file", "line-length"] })
      const inPlace = [...p.short.keys()].includes("i") || hasLong(p, "in-place") || args.some((a) => /^-[a-zA-Z]*i/.test(a) && !a.startsWith("--"))
      if (!inPlace) return
      const scriptGiven = p.short.has("e") || p.short.has("f") || hasLong(p, "expression", "file")
      const files = scriptGiven ? p.operands : p.operands.slice(1)
      for (const f of files) checkWrite(f, scope, `sed -i ${show(f)}`)
      return
    }
    case "perl": {
      let inPlace = false
      let script = false
      const files: Array<string> = []
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!
        if (a === "--") { files.push(...args.slice(i + 1)); break }
        if (a.startsWith("-") && a.length > 1) {
          const letters = a.slice(1)
          for (let j = 0; j < letters.length; j++) {
            const c = letters[j]!
            if (c === "i") { inPlace = true; break }
            if (c === "e" || c === "E") { script = true; if (j === letters.length - 1) i++; break }
            if ("IMmxlC0".includes(c)) break
          }
          continue
        }
        if (!script) { script = true; continue }
        files.push(a)
      }
      if (inPlace) for (const f of files) checkWrite(f, scope, `perl -i ${show(f)}`)
      return
    }
    case "sudoedit":
      for (const f of operandsOf(args, "ugpCDhrtTUcR", ["user", "group", "prompt", "close-from", "chdir", "host", "role", "type", "command-timeout", "other-user", "chroot"])) {
        checkWrite(f, scope, `sudoedit ${show(f)}`)
      }
      return
    case "tee":
      for (const f of operandsOf(args, "", ["output-error"])) checkWrite(f, scope, `tee ${show(f)}`)
      return
    case "ln": {
      const p = parseArgs(args, { shortWithArg: "tS", longWithArg: ["target-directory", "suffix"] })
      const dir = p.short.get("t")?.[0] ?? p.long.get("target-directory")?.[0]
      if (dir !== undefined) checkDestination(dir, p.operands, scope, `ln into ${show(dir)}`)
      else if (p.operands.length >= 2) checkDestination(p.operands[p.operands.length - 1]!, p.operands.slice(0, -1), scope, "ln")
      else if (p.operands.length === 1 && scope.cwd !== undefined) checkWrite(basename(p.operands[0]!), scope, "ln")
      return
    }
    case "chmod":
    case "chown":
    case "chgrp": {
      // chmod modes may look like options (-x, -w): only known flags are options
      const flags = new Set(["-R", "-c", "-f", "-v", "-h", "-H", "-L", "-P", "--recursive", "--changes", "--silent", "--quiet", "--verbose", "--no-dereference", "--dereference", "--preserve-root", "--no-preserve-root"])
      let recursive = false
      let reference = false
      const ops: Array<string> = []
      let ended = false
      for (const a of args) {
        if (!ended && a === "--") { ended = true; continue }
        if (!ended && (flags.has(a) || /^-[RcfvhHLP]+$/.test(a))) { if (a === "--recursive" || /^-[a-zA-Z]*R/.test(a)) recursive = true; continue }
        if (!ended && a.startsWith("--reference")) { reference = true; continue }
        if (!ended && a.startsWith("--from")) continue
        ops.push(a)
      }
      const targets = reference ? ops : ops.slice(1)
      for (const t of targets) {
        checkWrite(t, scope, `${name} ${show(t)}`)
        if (recursive) recursiveModeChange(t, scope, name)
      }
      return
    }
    case "setfacl":
    case "chattr": {
      // ACLs and attributes (chattr +i makes files immutable) are judged as chmod's modes are
      const recursive = args.some((a) => a === "--recursive" || /^-[a-zA-Z]*R/.test(a))
      const p = parseArgs(args, { shortWithArg: name === "setfacl" ? "mMxXv" : "pv", longWithArg: ["modify", "modify-file", "remove", "remove-file", "set", "set-file"] })
      const targets = name === "chattr" ? p.operands.filter((o) => !/^[+=-]/.test(o)) : p.operands
      for (const t of targets) {
        checkWrite(t, scope, `${name} ${show(t)}`)
        if (recursive) recursiveModeChange(t, scope, name)
      }
      return
    }

    // ----- filesystems and disks -----
    case "mkfs":
    case "mke2fs":
      scope.add("deny", `${name} creates a filesystem (erases the device)`)
      return
    case "mkswap":
      for (const t of operandsOf(args, "pLUoeb", ["pagesize", "label", "uuid", "offset", "endianness", "lock", "size", "file"])) {
        if (isUnderDev(pathOf(t, scope))) scope.add("deny", `mkswap ${show(t)} erases a device`)
      }
      return
    case "wipefs":
      scope.add("deny", "wipefs erases filesystem signatures")
      return
    case "sgdisk":
      if (args.some((a) => a === "--zap-all" || a === "--zap" || a === "--clear" || /^-[a-zA-Z]*[Zzo]/.test(a))) scope.add("deny", "sgdisk wipes the partition table")
      return
    case "blkdiscard":
      scope.add("deny", "blkdiscard discards every block of the device")
      return
    // the same category by other tools: formatting, encrypting or re-initializing a device erases it
    case "cryptsetup": {
      const verb = operandsOf(args, "cdhlosSbiq", ["cipher", "key-file", "key-size", "hash", "offset", "skip", "type", "header", "key-slot", "pbkdf", "label", "subsystem", "uuid", "sector-size"])[0]
      if (verb !== undefined && ["luksFormat", "erase", "luksErase", "reencrypt"].includes(verb)) scope.add("deny", `cryptsetup ${verb} erases the device's data or keys`)
      return
    }
    case "pvcreate":
      scope.add("deny", "pvcreate initializes a device for LVM (erases what it held)")
      return
    case "nvme": {
      const verb = operandsOf(args)[0]
      if (verb === "format" || verb === "sanitize") scope.add("deny", `nvme ${verb} erases the device`)
      return
    }
    case "hdparm":
      if (args.some((a) => /^--(security-erase|security-erase-enhanced|trim-sector-ranges|write-sector|make-bad-sector)$/.test(a))) {
        scope.add("deny", "hdparm erases or overwrites sectors of the device")
      }
      return
    case "badblocks":
      if (args.some((a) => /^-[a-zA-Z]*w/.test(a))) scope.add("deny", "badblocks -w overwrites the whole device")
      return
    case "mdadm":
      if (args.some((a) => a === "--zero-superblock" || a === "--create" || a === "-C")) scope.add("deny", "mdadm --create/--zero-superblock overwrites the devices' RAID metadata")
      return
    case "fdisk":
    case "gdisk":
    case "cfdisk":
      // interactive editors: fed a script on standard input they write the partition table
      if (_stdin.kind !== "none" && !args.some((a) => /^-[a-zA-Z]*l/.test(a) || a === "--list")) scope.add("confirm", `${name} fed commands on standard input writes a partition table`)
      return
    case "vgcreate":
      scope.add("confirm", "vgcreate initializes its devices for LVM (erases what they held)")
      return
    case "lvresize":
      if (args.some((a, i) => /^(-[Ll]-|--(size|extents)=-)/.test(a) || ((a === "-L" || a === "-l" || a === "--size" || a === "--extents") && (args[i + 1] ?? "").startsWith("-")))) {
        scope.add("confirm", "lvresize to a smaller size discards logical volume data")
      }
      return
    case "resize2fs":
      if (operandsOf(args, "dz").length > 1) scope.add("confirm", "resize2fs to a given size can shrink the filesystem")
      return

    // ----- Proxmox -----
    case "pvecm": {
      const verb = operandsOf(args)[0]
      if (host && verb !== undefined && PVECM_VERBS.has(verb)) scope.add("deny", `pvecm ${verb} changes cluster membership (protected)`, true)
      return
    }
    case "pveum": {
      const ops = operandsOf(args)
      const hit = ops.find((o) => PVEUM_VERBS.has(o) || PVEUM_LEGACY.test(o))
      if (host && hit !== undefined) scope.add("deny", `pveum ${ops.slice(0, ops.indexOf(hit) + 1).join(" ")} changes users, tokens or permissions (protected)`, true)
      return
    }
    case "pvesh": {
      const ops = operandsOf(args)
      const [verb, path] = ops
      if (host && verb !== undefined && ["create", "set", "delete"].includes(verb) && path !== undefined) {
        const norm = path.replace(/^\/+/, "")
        if (norm === "access" || norm.startsWith("access/") || isDynamic(norm)) {
          scope.add(isDynamic(norm) ? "confirm" : "deny", `pvesh ${verb} ${show(path)} changes users, tokens or permissions (protected)`, !isDynamic(norm))
        } else if (/^nodes\/[^/]+\/(qemu|lxc)\/[^/]+\/./.test(norm) && !READ_ONLY_AGENT.test(norm)) {
          // the API behind `qm stop`, `qm set`, `pct rollback`, agent file writes…
          scope.add("confirm", `pvesh ${verb} ${show(path)} changes guest state outside this server's backups`)
        }
      }
      return
    }
    case "qm":
    case "pct": {
      const ops = operandsOf(args)
      const verb = ops[0]
      if (verb === "destroy") {
        if (host) scope.add("deny", `${name} destroy deletes a guest and its disks`)
        else scope.add("confirm", `${name} destroy deletes a guest`)
      } else if (verb !== undefined && GUEST_VERBS.has(verb)) {
        scope.add("confirm", `${name} ${verb} changes guest state outside this server's backups`)
      } else if (name === "pct" && verb === "restore") scope.add("confirm", "pct restore overwrites a guest")
      else if (name === "qm" && verb === "sendkey" && ops.slice(2).some((k) => /^ctrl-alt-del(ete)?$/i.test(k))) {
        scope.add("confirm", "qm sendkey ctrl-alt-delete reboots the guest")
      } else if (name === "qm" && verb === "monitor") scope.add("confirm", "qm monitor opens the QEMU monitor (it can reset or stop the guest)")
      return
    }
    case "vzdump":
      scope.add("confirm", "vzdump runs a full guest backup (load, storage use, may suspend the guest)")
      return
    case "qmrestore":
      scope.add("confirm", "qmrestore overwrites a guest")
      return
    case "zpool": {
      const verb = operandsOf(args)[0]
      if (verb === "destroy" || verb === "labelclear") {
        scope.add(host ? "deny" : "confirm", `zpool ${verb} destroys a storage pool`)
      } else if (verb === "create") {
        scope.add(host ? "deny" : "confirm", "zpool create writes a new pool over its devices (erases what they held)")
      } else if (verb !== undefined && ["export", "offline", "detach", "remove", "split"].includes(verb)) {
        scope.add("confirm", `zpool ${verb} takes storage away`)
      } else if (verb !== undefined && ["add", "attach", "replace"].includes(verb)) {
        scope.add("confirm", `zpool ${verb} writes over the device it is given (and cannot always be undone)`)
      }
      return
    }
    case "vgremove":
    case "pvremove":
      scope.add(host ? "deny" : "confirm", `${name} destroys LVM storage`)
      return
    case "pvesm": {
      const verb = operandsOf(args)[0]
      if (verb === "remove") scope.add(host ? "deny" : "confirm", "pvesm remove deletes a storage definition")
      return
    }

    // ----- storage -----
    case "zfs": {
      const verb = operandsOf(args)[0]
      if (verb === "destroy" || verb === "rollback") scope.add("confirm", `zfs ${verb} discards data`)
      return
    }
    case "lvremove":
    case "lvreduce":
      scope.add("confirm", `${name} discards logical volume data`)
      return
    case "umount":
      scope.add("confirm", "umount can take storage away from guests")
      return
    case "fsck":
    case "e2fsck":
    case "xfs_repair":
      scope.add("confirm", `${name} repairs a filesystem in place`)
      return

    // ----- packages -----
    case "apt":
    case "apt-get":
    case "aptitude": {
      const p = parseArgs(args, { shortWithArg: "otc", longWithArg: ["option", "target-release", "config-file"] })
      const verb = p.operands[0]
      const simulate = p.short.has("s") || hasLong(p, "simulate", "just-print", "dry-run", "recon", "no-act")
      if (verb !== undefined && APT_VERBS.has(verb) && !simulate) scope.add("confirm", `${name} ${verb} changes installed packages`)
      if (verb === "install") scope.heavy(`${name} install (downloads packages)`)
      return
    }
    case "dpkg":
      if (args.some((a) => a === "-r" || a === "-P" || a === "--remove" || a === "--purge")) scope.add("confirm", "dpkg removes packages")
      return

    // ----- processes -----
    case "kill": {
      let signal = false
      let ended = false
      const pids: Array<string> = []
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!
        if (!ended && a === "--") { ended = true; continue }
        if (!ended && (a === "-s" || a === "-n" || a === "--signal")) { i++; signal = true; continue }
        if (!ended && (a === "-l" || a === "-L" || a === "--list" || a === "--table")) return
        if (!ended && !signal && a.startsWith("-") && a.length > 1) { signal = true; continue }
        pids.push(a)
      }
      const probe = args.some((a, i) => a === "-0" || ((a === "-s" || a === "-n") && args[i + 1] === "0"))
      if (!probe && pids.some((p) => p === "1" || p === "-1")) scope.add("confirm", `kill ${pids.join(" ")} signals init or every process`)
      return
    }
    case "killall5":
      scope.add("confirm", "killall5 signals every process")
      return
    case "pkill":
    case "killall": {
      const p = parseArgs(args, { shortWithArg: name === "pkill" ? "uUgGPstF" : "uony", longWithArg: ["signal", "euid", "uid", "group", "pgroup", "parent", "session", "terminal", "pidfile", "ns", "nslist", "user", "older-than", "younger-than"] })
      const pattern = p.operands[0]
      const regex = name === "pkill" || p.short.has("r") || hasLong(p, "regexp")
      if (name === "pkill" && pattern === undefined) scope.add("confirm", "pkill without a pattern signals every selected process")
      else if (pattern !== undefined && regex && !isDynamic(pattern) && matchAll(show(pattern))) scope.add("confirm", `${name} ${show(pattern)} matches every process`)
      // signalling the daemons that keep the node reachable is stopping their services
      else if (pattern !== undefined && !isDynamic(pattern) && CRITICAL_UNITS.has(unitName(show(pattern)))) {
        scope.add("confirm", `${name} ${show(pattern)} can cut off access to the node`)
      }
      return
    }

    // ----- network -----
    case "ifdown":
    case "ifreload":
      scope.add("confirm", `${name} reconfigures the network (can cut off access)`)
      return
    case "ifconfig":
      if (operandsOf(args).includes("down")) scope.add("confirm", "ifconfig … down takes an interface down")
      return
    case "ip": {
      const ops = operandsOf(args, "nbl", ["netns", "batch", "loops"]).filter((o) => !/^-/.test(o))
      const [obj, cmd] = ops
      if (obj === undefined || cmd === undefined) return
      if (isPrefixOf(obj, "link") && ((isPrefixOf(cmd, "set") && ops.includes("down")) || cmd === "delete" || cmd === "del")) {
        scope.add("confirm", `ip link ${cmd} … can cut off access to the node`)
      }
      if ((isPrefixOf(obj, "address") || isPrefixOf(obj, "route")) && isPrefixOf(cmd, "flush")) {
        scope.add("confirm", `ip ${obj} flush can cut off access to the node`)
      }
      return
    }
    case "iptables":
    case "ip6tables":
    case "iptables-legacy":
    case "iptables-nft":
    case "ip6tables-legacy":
    case "ip6tables-nft":
      if (args.some((a) => a === "-F" || a === "--flush" || /^-[a-zA-Z]*F$/.test(a))) scope.add("confirm", `${name} -F flushes firewall rules`)
      if (args.some((a, i) => (a === "-P" || a === "--policy") && ["DROP", "REJECT"].includes(args[i + 2] ?? ""))) scope.add("confirm", `${name} -P … DROP can cut off access`)
      return
    case "nft": {
      const ops = operandsOf(args, "fIc", ["file", "includepath"])
      if (ops[0] === "flush" && ops[1] === "ruleset") scope.add("confirm", "nft flush ruleset removes every firewall rule")
      return
    }

    // ----- heavy only -----
    case "curl": {
      scope.heavy("curl (network transfer)")
      const p = parseArgs(args, { shortWithArg: "oudHXAeEbcCKmrTwxyYzFUQ", longWithArg: ["output", "user", "data", "header", "request", "user-agent", "referer", "cookie", "cookie-jar", "config", "max-time", "range", "upload-file", "write-out", "proxy", "form", "data-binary", "data-raw", "connect-timeout", "retry", "cert", "key", "cacert", "resolve", "output-dir"] })
      for (const o of [...(p.short.get("o") ?? []), ...(p.long.get("output") ?? []), ...(p.short.get("c") ?? []), ...(p.long.get("cookie-jar") ?? [])]) {
        if (o !== "-") checkWrite(o, scope, `curl -o ${show(o)}`)
      }
      return
    }
    case "wget": {
      scope.heavy("wget (network transfer)")
      const p = parseArgs(args, { shortWithArg: "OoaPeUtTwiBQ", longWithArg: ["output-document", "output-file", "append-output", "directory-prefix", "execute", "user-agent", "tries", "timeout", "wait", "input-file", "base", "quota", "header", "user", "password"] })
      for (const o of [...(p.short.get("O") ?? []), ...(p.long.get("output-document") ?? [])]) {
        if (o !== "-") checkWrite(o, scope, `wget -O ${show(o)}`)
      }
      for (const d of [...(p.short.get("P") ?? []), ...(p.long.get("directory-prefix") ?? [])]) checkWrite(joinPath(d, DYN), scope, `wget -P ${show(d)}`)
      return
    }
    case "scp": {
      scope.heavy("scp (network transfer)")
      const ops = operandsOf(args, "cFiJlloPSX", ["cipher", "config", "identity"])
      const dest = ops[ops.length - 1]
      if (ops.length >= 2 && dest !== undefined) checkRemoteOrLocalDestination(dest, ops.slice(0, -1), scope, "scp")
      return
    }
    case "tar": {
      scope.heavy("tar (bulk archive)")
      const first = args[0] ?? ""
      const oldStyle = first.length > 0 && !first.startsWith("-") ? first : ""
      const p = parseArgs(oldStyle ? args.slice(1) : args, { shortWithArg: "fCbHKLNTVXgI", longWithArg: ["file", "directory", "exclude", "files-from", "exclude-from", "transform", "owner", "group", "mode", "use-compress-program", "newer", "label", "volno-file", "xform"] })
      const extract = oldStyle.includes("x") || p.short.has("x") || hasLong(p, "extract", "get")
      if (!extract) return
      const dirs = [...(p.short.get("C") ?? []), ...(p.long.get("directory") ?? [])]
      const dir = dirs[dirs.length - 1] ?? (scope.cwd !== undefined ? scope.cwd : undefined)
      if (dir !== undefined) checkWrite(joinPath(dir, DYN), scope, `tar -x into ${show(dir)}`)
      return
    }
    case "unzip": {
      // every member lands under `-d dir` (else the current directory), unless it only lists, tests or
      // prints to standard output (-l -v -t -z -Z -c -p)
      if (args.some((a) => /^-[^-]/.test(a) && /[lvtzZcp]/.test(a.slice(1)))) return
      const at = args.lastIndexOf("-d")
      const dir = at !== -1 ? args[at + 1] : scope.cwd
      if (dir !== undefined && args.some((a) => !a.startsWith("-"))) checkWrite(joinPath(dir, DYN), scope, `unzip into ${show(dir)}`)
      return
    }
    case "sqlite3":
      // a database opened read-write can be changed by any statement: every operand is judged as the file
      // it may name (the cluster configuration database behind /etc/pve is protected)
      if (args.includes("-readonly")) return
      for (const a of args) if (!a.startsWith("-")) checkWrite(a, scope, `sqlite3 ${show(a)}`)
      return
    case "parted": {
      const ops = operandsOf(args, "", ["align"])
      const changes = ops.slice(1).some((o) => ["mklabel", "mktable", "rm", "mkpart", "resizepart", "name", "set", "toggle"].includes(o))
      if (changes) scope.add("confirm", "parted changes a partition table")
      return
    }
    case "sfdisk":
      if (!args.some((a) => /^(-[lsdJVgh]|--(list|show-size|dump|json|verify|show-geometry|help|version|list-types|backup-pt-sectors))/.test(a))) scope.add("confirm", "sfdisk writes a partition table")
      return
    case "du":
      if (operandsOf(args, "BdtX", ["block-size", "max-depth", "threshold", "exclude-from", "exclude", "time-style", "files0-from"]).some((o) => { const p = pathOf(o, scope); return p.kind === "abs" && p.segs.length === 0 && !p.open })) {
        scope.heavy("du / (walks the whole filesystem)")
      }
      return
    case "docker":
    case "podman": {
      const ops = operandsOf(args, "HcL", ["host", "context", "log-level", "config"])
      const [a, b] = ops
      if (a === "pull" || a === "build" || ((a === "image" || a === "buildx" || a === "compose") && (b === "pull" || b === "build"))) {
        scope.heavy(`${name} ${a}${b !== undefined && (b === "pull" || b === "build") && a !== "pull" && a !== "build" ? ` ${b}` : ""} (image transfer or build)`)
      }
      return
    }
    default:
      return
  }
}

// ---------------------------------------------------------------------------------------------------
// Operator extensions (guardrails.md §1.6)
// ---------------------------------------------------------------------------------------------------

/** Extra rules match on the normalized simple command: program, then the words in order. */
export const checkExtra = (name: string, args: ReadonlyArray<string>, scope: Scope): void => {
  for (const rule of scope.opts.extra) {
    if (rule.program !== name) continue
    let i = 0
    for (const a of args) {
      if (i < rule.words.length && show(a) === rule.words[i]) i++
    }
    if (i === rule.words.length) scope.add(rule.severity, `operator rule "${rule.source}"`)
  }
}
