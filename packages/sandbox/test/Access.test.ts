/**
 * RBAC fixtures (sandbox.md §4.4, §9): our own user.cfg-like fixtures with the privileges Proxmox VE 9
 * grants: propagation, replacement at depth, token over user over group, NoAccess, pools, privsep AND,
 * root; built-in role lists; and the same decisions through the API (`GET /access/permissions`, 403s).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { ALL_PRIVILEGES, BUILTIN_ROLES, builtinRoles, resolvePermissions, type AccessData } from "../src/state/Access.js"
import type { AclEntry, Pool, Token, User } from "../src/state/types.js"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"

const user = (userid: string, groups: Array<string> = [], enable: 0 | 1 = 1): User => ({ userid, enable, expire: 0, firstname: "", lastname: "", email: "", comment: "", groups })
const token = (userid: string, tokenid: string, privsep: 0 | 1): Token => ({ userid, tokenid, privsep, expire: 0, comment: "", secret: "x" })
const acl = (path: string, type: AclEntry["type"], ugid: string, roleid: string, propagate: 0 | 1 = 1): AclEntry => ({ path, type, ugid, roleid, propagate })

const fixture = (entries: Array<AclEntry>, extra: { pools?: Array<Pool>; tokens?: Array<Token>; users?: Array<User> } = {}): AccessData => {
  const roles = builtinRoles()
  roles.set("Custom", { roleid: "Custom", privs: ["VM.Audit", "VM.Console"], special: 0 })
  const users = new Map<string, User>([["root@pam", user("root@pam")], ["alice@pve", user("alice@pve", ["ops"])], ["bob@pve", user("bob@pve")]])
  for (const u of extra.users ?? []) users.set(u.userid, u)
  return {
    users,
    tokens: new Map((extra.tokens ?? []).map((t) => [`${t.userid}!${t.tokenid}`, t])),
    roles,
    acl: entries,
    pools: new Map((extra.pools ?? []).map((p) => [p.poolid, p]))
  }
}

const privs = (data: AccessData, authid: string, path: string) => Object.fromEntries([...resolvePermissions(data, authid, path).entries()].sort())
const names = (data: AccessData, authid: string, path: string) => Object.keys(privs(data, authid, path))

describe("built-in roles (PVE 9.x)", () => {
  it("have the exact privilege lists", () => {
    expect(ALL_PRIVILEGES).toHaveLength(47)
    expect(BUILTIN_ROLES["PVEAuditor"]).toEqual(["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"])
    expect(BUILTIN_ROLES["PVEAdmin"]).toHaveLength(40)
    expect(BUILTIN_ROLES["PVEAdmin"]).not.toContain("Mapping.Modify")
    expect(BUILTIN_ROLES["PVEAdmin"]).not.toContain("Sys.Modify")
    expect(BUILTIN_ROLES["PVEVMUser"]).toContain("VM.GuestAgent.FileWrite")
    expect(BUILTIN_ROLES["PVEVMUser"]).not.toContain("VM.Snapshot")
    expect(BUILTIN_ROLES["PVEVMAdmin"]).toEqual(expect.arrayContaining(["VM.Snapshot", "VM.Snapshot.Rollback", "VM.GuestAgent.Unrestricted", "VM.Replicate"]))
    expect(BUILTIN_ROLES["PVESysAdmin"]).toEqual(["Sys.Audit", "Sys.Console", "Sys.Syslog"])
    expect(BUILTIN_ROLES["NoAccess"]).toEqual([])
    expect(BUILTIN_ROLES["Administrator"]).toEqual(ALL_PRIVILEGES)
  })
})

describe("ACL resolution", () => {
  it("propagates only with propagate=1", () => {
    const d = fixture([acl("/vms", "user", "bob@pve", "PVEAuditor", 1), acl("/storage", "user", "bob@pve", "PVEDatastoreUser", 0)])
    expect(names(d, "bob@pve", "/vms/100")).toContain("VM.Audit")
    expect(names(d, "bob@pve", "/storage")).toEqual(["Datastore.AllocateSpace", "Datastore.Audit"])
    expect(names(d, "bob@pve", "/storage/local")).toEqual([])
    expect(privs(d, "bob@pve", "/storage")["Datastore.Audit"]).toBe(0)
  })

  it("a deeper level with entries replaces inherited roles", () => {
    const d = fixture([acl("/", "user", "bob@pve", "PVEAdmin"), acl("/vms/100", "user", "bob@pve", "PVEAuditor")])
    expect(names(d, "bob@pve", "/vms/100")).not.toContain("VM.PowerMgmt")
    expect(names(d, "bob@pve", "/vms/101")).toContain("VM.PowerMgmt")
  })

  it("user entries beat group entries at the same level; groups apply otherwise", () => {
    const d = fixture([acl("/", "group", "ops", "PVEVMAdmin"), acl("/", "user", "alice@pve", "PVEAuditor")])
    expect(names(d, "alice@pve", "/vms/100")).not.toContain("VM.Snapshot")
    const g = fixture([acl("/", "group", "ops", "PVEVMAdmin")])
    expect(names(g, "alice@pve", "/vms/100")).toContain("VM.Snapshot")
    expect(names(g, "bob@pve", "/vms/100")).toEqual([])
  })

  it("NoAccess wins alone at its level and is replaced deeper", () => {
    const d = fixture([acl("/", "user", "bob@pve", "PVEAdmin"), acl("/vms", "user", "bob@pve", "NoAccess"), acl("/vms", "user", "bob@pve", "PVEAuditor"), acl("/vms/100", "user", "bob@pve", "PVEVMUser")])
    expect(names(d, "bob@pve", "/vms/101")).toEqual([])
    expect(names(d, "bob@pve", "/vms/100")).toContain("VM.PowerMgmt")
    expect(names(d, "bob@pve", "/nodes/pve")).toContain("Sys.Audit")
  })

  it("pool roles reach member guests and stores, unpropagated, only where nothing else is set", () => {
    const pools = [{ poolid: "lab", vms: [100], storage: ["tank"] }]
    const d = fixture([acl("/pool/lab", "user", "bob@pve", "PVEVMUser")], { pools })
    expect(names(d, "bob@pve", "/vms/100")).toContain("VM.PowerMgmt")
    expect(privs(d, "bob@pve", "/vms/100")["VM.PowerMgmt"]).toBe(0)
    expect(names(d, "bob@pve", "/vms/101")).toEqual([])
    const set = fixture([acl("/pool/lab", "user", "bob@pve", "PVEVMUser"), acl("/vms/100", "user", "bob@pve", "PVEAuditor")], { pools })
    expect(names(set, "bob@pve", "/vms/100")).not.toContain("VM.PowerMgmt")
  })

  it("privilege-separated tokens get the intersection with propagate AND-ed; privsep=0 equals the user", () => {
    const tokens = [token("bob@pve", "sep", 1), token("bob@pve", "full", 0)]
    const d = fixture(
      [acl("/", "user", "bob@pve", "PVEVMAdmin", 1), acl("/", "token", "bob@pve!sep", "PVEAuditor", 0), acl("/vms", "token", "bob@pve!sep", "PVEVMUser", 1)],
      { tokens }
    )
    expect(names(d, "bob@pve!sep", "/")).toEqual(["VM.Audit", "VM.GuestAgent.Audit"])
    expect(privs(d, "bob@pve!sep", "/")["VM.Audit"]).toBe(0)
    expect(names(d, "bob@pve!sep", "/vms/100")).toEqual(BUILTIN_ROLES["PVEVMUser"]!.slice().sort())
    expect(names(d, "bob@pve!sep", "/vms/100")).not.toContain("VM.Snapshot")
    expect(privs(d, "bob@pve!full", "/vms/100")).toEqual(privs(d, "bob@pve", "/vms/100"))
    expect(names(d, "bob@pve!missing", "/")).toEqual([])
  })

  it("root@pam has everything; its tokens only their own ACLs; disabled users nothing", () => {
    const d = fixture([acl("/", "token", "root@pam!ci", "PVEAuditor"), acl("/", "user", "carol@pve", "PVEAdmin")], {
      tokens: [token("root@pam", "ci", 0)],
      users: [user("carol@pve", [], 0)]
    })
    expect(names(d, "root@pam", "/vms/1")).toHaveLength(47)
    expect(names(d, "root@pam!ci", "/vms/1")).toEqual(BUILTIN_ROLES["PVEAuditor"]!.slice().sort())
    expect(names(d, "carol@pve", "/")).toEqual([])
  })
})

describe("RBAC through the API", () => {
  it.scopedLive("tier tokens: observe reads only, operate also powers, nobody snapshots over the API", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, timeScale: 0.01, ssh: false })
      const perms = (t: Sandbox.SandboxToken) => Effect.map(call(sb, t, "GET", "/access/permissions", { path: "/vms/100" }), (r) => Object.keys(r.json.data["/vms/100"]))
      expect(yield* perms(sb.tokens.observe)).toEqual(["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"])
      expect(yield* perms(sb.tokens.operate)).toContain("VM.PowerMgmt")
      expect((yield* call(sb, sb.tokens.operate, "POST", "/nodes/pve/lxc/9001/status/start")).status).toBe(200)
      expect((yield* call(sb, sb.tokens.operate, "POST", "/nodes/pve/lxc/100/snapshot", { snapname: "x" })).reason).toBe("Permission check failed (/vms/100, VM.Snapshot)")
      // another principal's permissions need Sys.Audit on /access, which PVEAuditor has
      expect((yield* call(sb, sb.tokens.observe, "GET", "/access/permissions", { userid: "test@pve", path: "/" })).status).toBe(200)
      expect((yield* call(sb, sb.testTokens.bare, "GET", "/access/permissions", { userid: "mcp@pve" })).reason).toBe("Permission check failed (/access, Sys.Audit)")
    })
  )

  it.scopedLive("an ACL change (as pveum acl modify does) changes the next API decision", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, timeScale: 0.01, ssh: false })
      const bare = sb.testTokens.bare
      expect((yield* call(sb, bare, "GET", "/nodes/pve/lxc/100/status/current")).status).toBe(403)
      Either.getOrThrow(sb.lab.modifyAcl("/vms/100", { tokens: ["test@pve!bare"] }, ["PVEAuditor"], 0))
      expect((yield* call(sb, bare, "GET", "/nodes/pve/lxc/100/status/current")).status).toBe(200)
      expect((yield* call(sb, bare, "GET", "/nodes/pve/lxc")).json.data.map((g: { vmid: number }) => g.vmid)).toEqual([100])
      sb.lab.deleteAcl("/vms/100", { tokens: ["test@pve!bare"] }, ["PVEAuditor"])
      expect((yield* call(sb, bare, "GET", "/nodes/pve/lxc/100/status/current")).status).toBe(403)
      // custom roles work like built-ins
      Either.getOrThrow(sb.lab.addRole("Watcher", ["VM.Audit"]))
      expect(Either.isLeft(sb.lab.addRole("Broken", ["VM.Fly"]))).toBe(true)
      Either.getOrThrow(sb.lab.modifyAcl("/", { tokens: ["test@pve!bare"] }, ["Watcher"], 1))
      expect((yield* call(sb, bare, "GET", "/nodes/pve/qemu/200/status/current")).status).toBe(200)
      expect((yield* call(sb, bare, "GET", "/nodes/pve/status")).reason).toBe("Permission check failed (/nodes/pve, Sys.Audit)")
      // revoking a token makes its next call 401
      const secret = Redacted.value(sb.tokens.observe.secret)
      Either.getOrThrow(sb.lab.removeToken("mcp@pve", "mcp-observe"))
      const r = yield* sb.handle({ method: "GET", url: "/api2/json/version", headers: { authorization: `PVEAPIToken=mcp@pve!mcp-observe=${secret}` } })
      expect([r.status, r.reason]).toEqual([401, "no such token 'mcp-observe' for user 'mcp@pve'"])
    })
  )
})
