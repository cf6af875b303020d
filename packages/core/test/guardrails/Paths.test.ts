import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import {
  canonicalize,
  checkHostTailLog,
  checkHostWrite,
  DEFAULT_LISTS,
  isUnder,
  MAX_PATH_BYTES,
  parseList,
  protectedPathRule,
  validatePath,
  validateResolved
} from "@homelab-mcp/core/guardrails/Paths"

const ok = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}
const err = <A, E>(e: Either.Either<A, E>): E => {
  if (Either.isRight(e)) throw new Error(`expected Left, got ${JSON.stringify(e.right)}`)
  return e.left
}

describe("canonicalize (§3 rules 1–2)", () => {
  it.each([
    ["/etc/hosts", "/etc/hosts"],
    ["//proc", "/proc"],
    ["/etc//pve///user.cfg", "/etc/pve/user.cfg"],
    ["/etc/./hosts", "/etc/hosts"],
    ["/var/log/", "/var/log"],
    ["/", "/"],
    ["///", "/"],
    ["/srv/foo..bak", "/srv/foo..bak"],
    ["/srv/..hidden", "/srv/..hidden"],
    ["/srv/ü/ñ", "/srv/ü/ñ"]
  ])("%s -> %s", (input, expected) => {
    expect(ok(canonicalize(input))).toBe(expected)
  })

  it.each([
    ["", "empty"],
    ["etc/hosts", "absolute"],
    ["./x", "absolute"],
    ["/etc/../root/.ssh", "'..' segment"],
    ["/..", "'..' segment"],
    ["/srv/x/..", "'..' segment"],
    ["/etc/hosts\u0000", "NUL"],
    ["/etc/\nhosts", "control character"],
    ["/etc/\u007fx", "control character"],
    [`/${"a".repeat(MAX_PATH_BYTES)}`, "4096 bytes"]
  ])("rejects %j (%s)", (input, what) => {
    const e = err(canonicalize(input))
    expect(e._tag).toBe("PathRejected")
    expect(e.reason).toContain(what)
    expect(e.message).toContain("rejected")
  })

  it("counts bytes, not characters, against the limit", () => {
    const multi = `/${"é".repeat(2047)}` // 1 + 4094 bytes
    expect(Either.isRight(canonicalize(multi))).toBe(true)
    expect(Either.isLeft(canonicalize(`${multi}é`))).toBe(true)
  })

  it("is idempotent and never yields a '..' segment, '.' segment, empty segment or trailing slash (property)", () => {
    const seg = fc.constantFrom("a", "b", ".", "", "etc", "x..y", "..z")
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 10 }), (segs) => {
        const r = canonicalize(`/${segs.join("/")}`)
        if (Either.isRight(r)) {
          expect(ok(canonicalize(r.right))).toBe(r.right)
          const parts = r.right.split("/").slice(1)
          if (r.right !== "/") expect(parts.every((p) => p !== "" && p !== "." && p !== "..")).toBe(true)
        }
      })
    )
  })
})

describe("validatePath (§3 rule 3)", () => {
  it("denies by whole segments with the default lists", () => {
    expect(err(validatePath("/proc", "host")).reason).toContain("deny list")
    expect(err(validatePath("/proc/1/environ", "host")).reason).toContain("/proc")
    expect(err(validatePath("//proc/x", "guest")).canonical).toBe("/proc/x")
    expect(ok(validatePath("/processes/x", "host"))).toBe("/processes/x")
    expect(ok(validatePath("/sysadmin", "host"))).toBe("/sysadmin")
    expect(ok(validatePath("/devices.txt", "guest"))).toBe("/devices.txt")
    expect(Either.isLeft(validatePath("/dev/sda", "guest"))).toBe(true)
  })

  it("applies allow lists; deny wins", () => {
    const lists = { deny: ["/etc/secret"], allow: ["/etc", "/srv/app/"] }
    expect(ok(validatePath("/etc/hosts", "host", lists))).toBe("/etc/hosts")
    expect(ok(validatePath("/srv/app/x", "host", lists))).toBe("/srv/app/x")
    expect(err(validatePath("/var/log/x", "host", lists)).reason).toContain("allow list")
    expect(err(validatePath("/etc/secret/k", "host", lists)).reason).toContain("deny list")
    expect(err(validatePath("/etc/secret", "guest", { deny: ["/etc/secret"], allow: ["/etc/secret"] })).reason).toContain("guest deny list")
  })

  it("parses list variables", () => {
    expect(parseList(undefined, ["/proc"])).toEqual(["/proc"])
    expect(parseList(" /a/ , ,//b ")).toEqual(["/a", "/b"])
    expect(parseList("")).toEqual([])
    expect(isUnder("/a/b", "/a")).toBe(true)
    expect(isUnder("/ab", "/a")).toBe(false)
    expect(isUnder("/anything", "/")).toBe(true)
    expect(isUnder("/a", "/a/")).toBe(true)
  })
})

describe("validateResolved (§3 rule 4)", () => {
  it("re-checks the resolved path and reports both", () => {
    expect(ok(validateResolved("/srv/link", "/srv/real/file", "host"))).toEqual({ path: "/srv/link", resolvedPath: "/srv/real/file" })
    const e = err(validateResolved("/srv/link", "/proc/self/environ", "host"))
    expect(e).toMatchObject({ _tag: "PathRejected", path: "/srv/link", canonical: "/srv/link", resolved: "/proc/self/environ" })
    expect(e.message).toContain("resolves to /proc/self/environ")
    expect(err(validateResolved("/srv/l", "relative/x", "guest")).reason).toContain("resolves to an invalid path")
    expect(err(validateResolved("/srv/../x", "/srv/x", "guest")).reason).toContain("'..'")
    const lists = { deny: [], allow: ["/srv"] }
    expect(err(validateResolved("/srv/link", "/etc/shadow", "host", lists)).reason).toContain("allow list")
    expect(ok(validateResolved("/srv/link", "/srv//x/", "host", DEFAULT_LISTS)).resolvedPath).toBe("/srv/x")
  })
})

describe("host tail_log rule (§3 rule 5)", () => {
  it("limits companion to /var/log and not root", () => {
    expect(ok(checkHostTailLog("/var/log/syslog", "companion"))).toBe("/var/log/syslog")
    expect(err(checkHostTailLog("/var/lib/x.log", "companion")).reason).toContain("/var/log")
    expect(err(checkHostTailLog("/var/logs/x", "companion"))._tag).toBe("PathRejected")
    expect(ok(checkHostTailLog("/srv/app/app.log", "root"))).toBe("/srv/app/app.log")
  })
})

describe("protected paths for host writes (§3.1)", () => {
  it.each([
    "/etc/pve/priv",
    "/etc/pve/priv/authkey.key",
    "/etc/pve/priv/authorized_keys",
    "/etc/pve/priv/acme/x",
    "/etc/pve/user.cfg",
    "/etc/pve/corosync.conf",
    "/etc/pve/authkey.pub",
    "/etc/pve/authkey.key",
    "/etc/pve/pve-root-ca.pem",
    "/etc/pve/local/pve-ssl.pem",
    "/etc/pve/local/pve-ssl.key",
    "/etc/pve/local/pveproxy-ssl.pem",
    "/etc/pve/nodes/pve1/pve-ssl.key",
    "/etc/pve/nodes/pve1/pveproxy-ssl.key",
    "/root/.ssh/authorized_keys"
  ])("%s is protected", (p) => {
    expect(protectedPathRule(p)).toBe("protected")
    const e = err(checkHostWrite(p))
    expect(e._tag).toBe("ProtectedPath")
    expect(e.message).toContain(p)
  })

  it.each(["/etc/pve", "/etc/pve/storage.cfg", "/etc/pve/qemu-server/100.conf", "/etc/pve/lxc/101.conf", "/etc/pve/nodes/pve1/qemu-server/100.conf", "/etc/pve/user.cfg.bak", "/etc/pve/datacenter.cfg"])(
    "%s needs confirm",
    (p) => {
      expect(protectedPathRule(p)).toBe("confirm")
      expect(ok(checkHostWrite(p))).toBe("confirm")
    }
  )

  it.each(["/etc/hosts", "/etc/pvesomething", "/root/.ssh/config", "/root/.ssh/authorized_keys.bak", "/srv/etc/pve/user.cfg"])("%s has no rule", (p) => {
    expect(protectedPathRule(p)).toBe("none")
    expect(ok(checkHostWrite(p))).toBe("none")
  })
})
