/**
 * `/etc/pve` as pmxcfs shows it: a view of LabState mounted as its own filesystem (so `find -xdev /etc`
 * stops there). Guest configs live in `nodes/<node>/{lxc,qemu-server}/<vmid>.conf` with the `lxc`,
 * `qemu-server`, `local` symlinks; `storage.cfg`, `user.cfg`, `priv/token.cfg`, `priv/authorized_keys`,
 * `local/pve-ssl.pem` (the served certificate), `nodes/<node>/lrm_status` and the dot files
 * (`.version .vmlist .members .rrd .clusterlog .debug`) are rendered from state on access. Files are
 * `root:www-data` 0640, `priv/` 0700. A write to a guest `.conf` parses back into state.
 */
import { InMemoryFs, type IFileSystem } from "just-bash"
import * as Either from "effect/Either"
import type { LabState } from "../state/LabState.js"
import type { Machines } from "./Machines.js"
import { sync, ViewFs } from "./ViewFs.js"

const CONF_RE = /^\/(?:nodes\/[^/]+\/)?(lxc|qemu-server)\/(\d+)\.conf$/

/** The `/etc/pve` filesystem for a lab. */
export const make = (lab: LabState, machines: Machines): IFileSystem => {
  const inner = new InMemoryFs()
  const node = lab.nodeName
  const nodeDir = `/nodes/${node}`
  let initialised = false
  const bucket = (t: number) => new Date(Math.floor(t / 5) * 5 * 1000)

  const init = async () => {
    if (initialised) return
    initialised = true
    for (const d of [nodeDir, `${nodeDir}/lxc`, `${nodeDir}/qemu-server`, `${nodeDir}/openvz`, `${nodeDir}/priv`, "/priv", "/priv/lock", "/firewall", "/ha", "/mapping", "/sdn", "/virtual-guest"]) {
      await inner.mkdir(d, { recursive: true })
      await inner.chmod(d, d.endsWith("priv") || d.includes("/priv/") ? 0o700 : 0o750)
    }
    await inner.symlink(`nodes/${node}/lxc`, "/lxc")
    await inner.symlink(`nodes/${node}/qemu-server`, "/qemu-server")
    await inner.symlink(`nodes/${node}/openvz`, "/openvz")
    await inner.symlink(`nodes/${node}`, "/local")
    const t = new Date(lab.epochBase * 1000 - 86400_000 * 200)
    await sync(inner, "/datacenter.cfg", "keyboard: en-us\n", 0o640, t)
    await sync(inner, "/authkey.pub", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsandboxpublickeymaterial\n-----END PUBLIC KEY-----\n", 0o640, t)
    await sync(inner, "/pve-root-ca.pem", "-----BEGIN CERTIFICATE-----\nMIIFsandboxrootca\n-----END CERTIFICATE-----\n", 0o640, t)
    await sync(inner, "/priv/authkey.key", "-----BEGIN PRIVATE KEY-----\nMIIEsandboxauthkey\n-----END PRIVATE KEY-----\n", 0o600, t)
    await sync(inner, "/priv/pve-root-ca.key", "-----BEGIN PRIVATE KEY-----\nMIIEsandboxrootcakey\n-----END PRIVATE KEY-----\n", 0o600, t)
    await sync(inner, "/priv/shadow.cfg", "", 0o600, t)
    await sync(inner, "/priv/tfa.cfg", "", 0o600, t)
    await sync(inner, `${nodeDir}/pve-ssl.key`, "-----BEGIN PRIVATE KEY-----\nMIIEsandboxleafkey\n-----END PRIVATE KEY-----\n", 0o640, t)
    await sync(inner, "/.debug", "0\n", 0o640, t)
    for (const p of inner.getAllPaths()) {
      const st = await inner.lstat(p)
      if (st.isDirectory) await inner.utimes(p, t, t)
    }
  }

  const refreshGuests = async () => {
    const now = new Date(lab.now() * 1000)
    const wanted = new Map<string, string>()
    for (const g of lab.listGuests()) wanted.set(`${nodeDir}/${g.type === "lxc" ? "lxc" : "qemu-server"}/${g.vmid}.conf`, lab.renderConfig(g))
    for (const dir of [`${nodeDir}/lxc`, `${nodeDir}/qemu-server`]) {
      for (const name of await inner.readdir(dir)) {
        const p = `${dir}/${name}`
        if (!wanted.has(p)) await inner.rm(p, { force: true })
      }
    }
    for (const [p, text] of wanted) await sync(inner, p, text, 0o640, now)
  }

  const refreshOne = async (path: string) => {
    const m = CONF_RE.exec(path)
    if (!m) return false
    const g = lab.getGuest(Number(m[2]))
    const p = `${nodeDir}/${m[1]}/${m[2]}.conf`
    if (!g || (g.type === "lxc") !== (m[1] === "lxc")) {
      await inner.rm(p, { force: true })
      return true
    }
    await sync(inner, p, lab.renderConfig(g), 0o640, new Date(lab.now() * 1000))
    return true
  }

  // Node files are re-rendered when state changed (any recorded event, a key change) or at most every
  // 20 ms of real time otherwise, so a `find` over a 500-guest /etc/pve does not re-render them per file.
  let version = 0
  let renderedVersion = -1
  let renderedAt = 0
  let lastKeys = ""
  lab.subscribe(() => {
    version++
  })
  let inFlight: Promise<void> | undefined
  const refreshNode = async (): Promise<void> => {
    const keys = machines.authorizedKeys().join("\n")
    if (keys !== lastKeys) {
      lastKeys = keys
      version++
    }
    if (inFlight) await inFlight
    if (renderedVersion === version && Date.now() - renderedAt < 20) return
    renderedVersion = version
    renderedAt = Date.now()
    inFlight = renderNode().finally(() => {
      inFlight = undefined
    })
    await inFlight
  }
  const renderNode = async () => {
    const nowSec = lab.now()
    const now = new Date(nowSec * 1000)
    await sync(inner, "/storage.cfg", lab.renderStorageCfg(), 0o640, now)
    await sync(inner, "/user.cfg", lab.renderUserCfg(), 0o640, now)
    await sync(inner, "/priv/token.cfg", lab.renderTokenCfg(), 0o600, now)
    await sync(inner, "/priv/authorized_keys", `${machines.authorizedKeys().join("\n")}\n`, 0o600, now)
    await sync(inner, "/priv/known_hosts", `${node} ${machines.options.hostPublicKey.split(" ").slice(0, 2).join(" ")}\n`, 0o600, now)
    const cert = machines.options.apiCertPem?.()
    if (cert !== undefined) await sync(inner, `${nodeDir}/pve-ssl.pem`, cert, 0o640, now)
    const custom = machines.options.customCertPem?.()
    if (custom !== undefined) await sync(inner, `${nodeDir}/pveproxy-ssl.pem`, custom, 0o640, now)
    else await inner.rm(`${nodeDir}/pveproxy-ssl.pem`, { force: true })
    const guests = lab.listGuests()
    const t5 = bucket(nowSec)
    await sync(inner, "/.version", `${JSON.stringify({ starttime: lab.node.bootTime + 20, clinfo: 1, vmlist: guests.length, version: 1000 + Math.floor(nowSec / 5) % 100000 })}\n`, 0o440, t5)
    const vmlist: Record<string, { node: string; type: string; version: number }> = {}
    for (const g of guests) vmlist[String(g.vmid)] = { node, type: g.type, version: 1 }
    await sync(inner, "/.vmlist", `${JSON.stringify({ version: 1, ids: vmlist }, null, 0)}\n`, 0o440, t5)
    await sync(inner, "/.members", `{\n"nodename": "${node}",\n"version": 0\n}\n`, 0o440, t5)
    await sync(inner, "/.rrd", `pve2-node/${node}:${Math.floor(nowSec)}:${lab.nodeStatus().loadavg[0]}\n`, 0o440, t5)
    await sync(inner, "/.clusterlog", `{"data": []}\n`, 0o440, t5)
    await sync(inner, `${nodeDir}/lrm_status`, `{"results":{},"state":"wait_for_agent_lock","mode":"active","timestamp":${Math.floor(nowSec / 10) * 10}}\n`, 0o640, bucket(nowSec / 2))
  }

  return new ViewFs(inner, {
    refresh: async (_fs, path) => {
      await init()
      if (await refreshOne(path)) return
      if (path === "/" || path === "/nodes" || path === nodeDir || /^\/(?:nodes\/[^/]+\/)?(lxc|qemu-server)\/?$/.test(path) || path === "/lxc" || path === "/qemu-server") {
        await refreshGuests()
      }
      await refreshNode()
    },
    written: async (fs, path) => {
      const m = CONF_RE.exec(path)
      if (!m) return
      let text: string
      try {
        text = await fs.readFile(`${nodeDir}/${m[1]}/${m[2]}.conf`)
      } catch {
        return
      }
      const result = lab.writeConfigText(Number(m[2]), text)
      if (Either.isLeft(result)) return
    }
  })
}
