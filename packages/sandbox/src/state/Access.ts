/**
 * Proxmox VE 9 access control (sandbox.md §4.4): the built-in roles with their exact privilege
 * lists, and ACL resolution with propagation, replacement per level, token > user > group,
 * NoAccess, pools, and privilege separation (intersection with propagate AND-ed).
 */
import type { AclEntry, Pool, Role, Token, User } from "./types.js"

/** All 47 PVE 9 privileges, in PVE's sorted order. */
export const ALL_PRIVILEGES: ReadonlyArray<string> = [
  "Datastore.Allocate",
  "Datastore.AllocateSpace",
  "Datastore.AllocateTemplate",
  "Datastore.Audit",
  "Group.Allocate",
  "Mapping.Audit",
  "Mapping.Modify",
  "Mapping.Use",
  "Permissions.Modify",
  "Pool.Allocate",
  "Pool.Audit",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "SDN.Allocate",
  "SDN.Audit",
  "SDN.Use",
  "Sys.AccessNetwork",
  "Sys.Audit",
  "Sys.Console",
  "Sys.Incoming",
  "Sys.Modify",
  "Sys.PowerMgmt",
  "Sys.Syslog",
  "User.Modify",
  "VM.Allocate",
  "VM.Audit",
  "VM.Backup",
  "VM.Clone",
  "VM.Config.CDROM",
  "VM.Config.CPU",
  "VM.Config.Cloudinit",
  "VM.Config.Disk",
  "VM.Config.HWType",
  "VM.Config.Memory",
  "VM.Config.Network",
  "VM.Config.Options",
  "VM.Console",
  "VM.GuestAgent.Audit",
  "VM.GuestAgent.FileRead",
  "VM.GuestAgent.FileSystemMgmt",
  "VM.GuestAgent.FileWrite",
  "VM.GuestAgent.Unrestricted",
  "VM.Migrate",
  "VM.PowerMgmt",
  "VM.Replicate",
  "VM.Snapshot",
  "VM.Snapshot.Rollback"
]

/** Privileges only root@pam (or Administrator) may hold. */
export const ROOT_ONLY_PRIVILEGES: ReadonlyArray<string> = [
  "Permissions.Modify",
  "Realm.Allocate",
  "Sys.AccessNetwork",
  "Sys.Incoming",
  "Sys.Modify",
  "Sys.PowerMgmt"
]

const vmUser = [
  "VM.Audit",
  "VM.Backup",
  "VM.Config.CDROM",
  "VM.Config.Cloudinit",
  "VM.Console",
  "VM.GuestAgent.Audit",
  "VM.GuestAgent.FileRead",
  "VM.GuestAgent.FileSystemMgmt",
  "VM.GuestAgent.FileWrite",
  "VM.PowerMgmt"
]

/** The built-in PVE 9.x roles (special: 1, immutable). */
export const BUILTIN_ROLES: Readonly<Record<string, ReadonlyArray<string>>> = {
  Administrator: ALL_PRIVILEGES,
  NoAccess: [],
  PVEAdmin: ALL_PRIVILEGES.filter((p) => !ROOT_ONLY_PRIVILEGES.includes(p) && p !== "Mapping.Modify"),
  PVEAuditor: ["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"],
  PVEDatastoreAdmin: ["Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit"],
  PVEDatastoreUser: ["Datastore.AllocateSpace", "Datastore.Audit"],
  PVEMappingAdmin: ["Mapping.Audit", "Mapping.Modify", "Mapping.Use"],
  PVEMappingUser: ["Mapping.Audit", "Mapping.Use"],
  PVEPoolAdmin: ["Pool.Allocate", "Pool.Audit"],
  PVEPoolUser: ["Pool.Audit"],
  PVESDNAdmin: ["SDN.Allocate", "SDN.Audit", "SDN.Use"],
  PVESDNUser: ["SDN.Audit", "SDN.Use"],
  PVESysAdmin: ["Sys.Audit", "Sys.Console", "Sys.Syslog"],
  PVETemplateUser: ["VM.Audit", "VM.Clone"],
  PVEUserAdmin: ["Group.Allocate", "Realm.AllocateUser", "User.Modify"],
  PVEVMAdmin: [
    ...vmUser,
    "VM.Allocate",
    "VM.Clone",
    "VM.Config.CPU",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback"
  ].sort(),
  PVEVMUser: vmUser
}

/** Release line whose roles apply. */
export type RoleProfile = "9.x" | "8.x"

const NOT_IN_8 = (p: string) => p.startsWith("VM.GuestAgent.") || p === "VM.Replicate"

/** All privileges of a release line (8.x: no VM.GuestAgent.*, no VM.Replicate, but VM.Monitor). */
export const privilegesOf = (profile: RoleProfile): ReadonlyArray<string> =>
  profile === "9.x" ? ALL_PRIVILEGES : [...ALL_PRIVILEGES.filter((p) => !NOT_IN_8(p)), "VM.Monitor"].sort()

/** The built-in roles of a release line: 8.x roles lack the GuestAgent privileges and VM.Replicate; PVEVMAdmin, PVEAdmin and Administrator have VM.Monitor. */
export const builtinRoleTable = (profile: RoleProfile): Readonly<Record<string, ReadonlyArray<string>>> => {
  if (profile === "9.x") return BUILTIN_ROLES
  const out: Record<string, ReadonlyArray<string>> = {}
  for (const [roleid, privs] of Object.entries(BUILTIN_ROLES)) {
    const kept = privs.filter((p) => !NOT_IN_8(p))
    out[roleid] = ["PVEVMAdmin", "PVEAdmin", "Administrator"].includes(roleid) ? [...kept, "VM.Monitor"].sort() : kept
  }
  return out
}

/** Fresh role table with the built-ins of a release line (default 9.x). */
export const builtinRoles = (profile: RoleProfile = "9.x"): Map<string, Role> => {
  const roles = new Map<string, Role>()
  for (const [roleid, privs] of Object.entries(builtinRoleTable(profile))) roles.set(roleid, { roleid, privs: [...privs].sort(), special: 1 })
  return roles
}

/** Effective privileges on a path: privilege → propagate (1/0). */
export type PrivMap = Map<string, 0 | 1>

/** Normalises an ACL path (`/vms/100/` → `/vms/100`). */
export const normalizePath = (path: string): string => {
  const parts = path.split("/").filter((p) => p.length > 0)
  return "/" + parts.join("/")
}

const levels = (path: string): Array<string> => {
  const parts = normalizePath(path).split("/").filter((p) => p.length > 0)
  const out = ["/"]
  for (let i = 1; i <= parts.length; i++) out.push("/" + parts.slice(0, i).join("/"))
  return out
}

/** Access data needed for resolution. */
export interface AccessData {
  readonly users: ReadonlyMap<string, User>
  readonly tokens: ReadonlyMap<string, Token>
  readonly roles: ReadonlyMap<string, Role>
  readonly acl: ReadonlyArray<AclEntry>
  readonly pools: ReadonlyMap<string, Pool>
}

type RoleMap = Map<string, 0 | 1>

const rolesForSubject = (data: AccessData, path: string, subject: { userid: string; tokenFull?: string }): RoleMap => {
  const user = data.users.get(subject.userid)
  const groups = user?.groups ?? []
  let roles: RoleMap = new Map()
  const target = normalizePath(path)
  for (const level of levels(target)) {
    const here = data.acl.filter((e) => normalizePath(e.path) === level && (level === target || e.propagate === 1))
    const pick = (type: AclEntry["type"], matches: (e: AclEntry) => boolean): RoleMap | undefined => {
      const es = here.filter((e) => e.type === type && matches(e))
      if (es.length === 0) return undefined
      const m: RoleMap = new Map()
      for (const e of es) m.set(e.roleid, ((m.get(e.roleid) ?? 0) | e.propagate) as 0 | 1)
      return m
    }
    const found =
      subject.tokenFull !== undefined
        ? pick("token", (e) => e.ugid === subject.tokenFull)
        : (pick("user", (e) => e.ugid === subject.userid) ?? pick("group", (e) => groups.includes(e.ugid)))
    if (found) {
      roles = found.has("NoAccess") ? new Map([["NoAccess", found.get("NoAccess")!]]) : found
    }
  }
  // Pools: roles on /pool/<id> reach member /vms/<id> and /storage/<id> (unpropagated), filling only unset roles.
  const m = /^\/(vms|storage)\/([^/]+)$/.exec(target)
  if (m && roles.size === 0) {
    for (const pool of data.pools.values()) {
      const member = m[1] === "vms" ? pool.vms.includes(Number(m[2])) : pool.storage.includes(m[2]!)
      if (!member) continue
      const poolRoles = rolesForSubject(data, `/pool/${pool.poolid}`, subject)
      for (const [r] of poolRoles) roles.set(r, 0)
      if (roles.has("NoAccess")) roles = new Map([["NoAccess", 0]])
    }
  }
  return roles
}

const privsOf = (data: AccessData, roles: RoleMap): PrivMap => {
  const out: PrivMap = new Map()
  if (roles.has("NoAccess")) return out
  for (const [roleid, prop] of roles) {
    const role = data.roles.get(roleid)
    if (!role) continue
    for (const p of role.privs) out.set(p, ((out.get(p) ?? 0) | prop) as 0 | 1)
  }
  return out
}

/** Splits `user@realm!token` into its parts. */
export const splitAuthId = (authid: string): { userid: string; tokenid?: string } => {
  const i = authid.indexOf("!")
  return i < 0 ? { userid: authid } : { userid: authid.slice(0, i), tokenid: authid.slice(i + 1) }
}

/** Effective privileges of a user (`user@realm`) or token (`user@realm!id`) on a path. */
export const resolvePermissions = (data: AccessData, authid: string, path: string): PrivMap => {
  const { userid, tokenid } = splitAuthId(authid)
  const everything = data.roles.get("Administrator")?.privs ?? ALL_PRIVILEGES
  if (userid === "root@pam" && tokenid === undefined) {
    return new Map(everything.map((p) => [p, 1 as const]))
  }
  const user = data.users.get(userid)
  if (!user || user.enable === 0) return new Map()
  const userPrivs: PrivMap =
    userid === "root@pam" ? new Map(everything.map((p) => [p, 1 as const])) : privsOf(data, rolesForSubject(data, path, { userid }))
  if (tokenid === undefined) return userPrivs
  const token = data.tokens.get(`${userid}!${tokenid}`)
  if (!token) return new Map()
  if (userid === "root@pam") {
    // root@pam!x: its own ACLs only
    return privsOf(data, rolesForSubject(data, path, { userid, tokenFull: `${userid}!${tokenid}` }))
  }
  if (token.privsep === 0) return userPrivs
  const tokenPrivs = privsOf(data, rolesForSubject(data, path, { userid, tokenFull: `${userid}!${tokenid}` }))
  const out: PrivMap = new Map()
  for (const [p, prop] of tokenPrivs) {
    const up = userPrivs.get(p)
    if (up !== undefined) out.set(p, (prop & up) as 0 | 1)
  }
  return out
}
