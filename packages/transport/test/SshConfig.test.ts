/**
 * SSH settings from the environment (tiers-setup.md §3): defaults, accepted spellings, and malformed values
 * failing startup with the variable's name.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ssh from "../src/Ssh.js"

const FP = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"

const load = (env: Record<string, string>) =>
  Effect.withConfigProvider(Ssh.config, ConfigProvider.fromMap(new Map(Object.entries(env))))

const failureText = (env: Record<string, string>) =>
  load(env).pipe(
    Effect.flip,
    Effect.map((e) => String(e))
  )

const base = { SSH_HOST: "pve.lan", SSH_KEY_PATH: "/keys/id_ed25519", SSH_HOST_KEY_FINGERPRINT: FP }

describe("Ssh.config", () => {
  it.effect("applies the documented defaults", () =>
    Effect.gen(function*() {
      const o = yield* load({ ...base, HOME: "/home/op" })
      expect(o).toMatchObject({
        host: "pve.lan",
        port: 22,
        user: "root",
        keyPath: "/keys/id_ed25519",
        hostKeyFingerprint: FP,
        hostKeyAlgorithm: "ssh-ed25519",
        tofu: false,
        knownHostsPath: "/home/op/.local/share/homelab-mcp/known_hosts.json",
        connectTimeoutMs: 10_000,
        keepaliveMs: 10_000,
        reconnectDelayMs: 3_000,
        commandTimeoutGraceMs: 10_000,
        maxChannels: 8,
        nodeTempDir: "/tmp",
        outputMaxBytes: 65_536
      })
      expect(o.passphrase).toBeUndefined()
    }))

  it.effect("SSH_HOST defaults to the host of PVE_API_BASE_URL", () =>
    Effect.gen(function*() {
      const { SSH_HOST: _h, ...rest } = base
      const o = yield* load({ ...rest, PVE_API_BASE_URL: "https://10.0.0.5:8006/api2/json" })
      expect(o.host).toBe("10.0.0.5")
      const v6 = yield* load({ ...rest, PVE_API_BASE_URL: "https://[fd00::5]:8006/api2/json" })
      expect(v6.host).toBe("fd00::5")
      const blank = yield* load({ ...rest, SSH_HOST: "  ", PVE_API_BASE_URL: "https://10.0.0.5:8006/api2/json" })
      expect(blank.host).toBe("10.0.0.5")
      expect((yield* load({ ...base, SSH_HOST: " pve.lan " })).host).toBe("pve.lan")
      const neither = yield* failureText(rest)
      expect(neither).toMatch(/SSH_HOST|PVE_API_BASE_URL/)
    }))

  it.effect("reads every variable and keeps the passphrase redacted", () =>
    Effect.gen(function*() {
      const o = yield* load({
        ...base,
        SSH_PORT: "2222",
        SSH_USER: "admin",
        SSH_KEY_PASSPHRASE: "s3cret",
        SSH_HOST_KEY_FINGERPRINT: `256 ${FP} root@pve (ED25519)`,
        SSH_HOST_KEY_ALGORITHM: "ecdsa-sha2-nistp256",
        SSH_HOST_KEY_TOFU: "true",
        SSH_KNOWN_HOSTS_PATH: "/data/kh.json",
        SSH_CONNECT_TIMEOUT_MS: "2000",
        SSH_KEEPALIVE_MS: "500",
        SSH_RECONNECT_DELAY_MS: "0",
        SSH_COMMAND_TIMEOUT_GRACE_MS: "100",
        SSH_MAX_CHANNELS: "2",
        MCP_NODE_TEMP_DIR: "/var/tmp/mcp",
        MCP_EXEC_OUTPUT_MAX_BYTES: "1024"
      })
      expect(o).toMatchObject({
        port: 2222,
        user: "admin",
        hostKeyAlgorithm: "ecdsa-sha2-nistp256",
        tofu: true,
        knownHostsPath: "/data/kh.json",
        connectTimeoutMs: 2000,
        keepaliveMs: 500,
        reconnectDelayMs: 0,
        commandTimeoutGraceMs: 100,
        maxChannels: 2,
        nodeTempDir: "/var/tmp/mcp",
        outputMaxBytes: 1024
      })
      expect(Redacted.value(o.passphrase!)).toBe("s3cret")
      expect(String(o.passphrase)).not.toContain("s3cret")
      expect(JSON.stringify(o)).not.toContain("s3cret")
      // The whole ssh-keygen line normalizes to the bare fingerprint.
      const settings = Ssh.resolveSettings(o)
      expect(settings._tag === "Right" && settings.right.hostKeyFingerprint).toBe(FP)
    }))

  it.effect("malformed values fail naming the variable", () =>
    Effect.gen(function*() {
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ SSH_PORT: "abc" }, /SSH_PORT/],
        [{ SSH_PORT: "70000" }, /SSH_PORT: "expected an integer 1\.\.65535, got "70000""/],
        [{ SSH_HOST_KEY_FINGERPRINT: "SHA256:nope" }, /SSH_HOST_KEY_FINGERPRINT/],
        [{ SSH_HOST_KEY_ALGORITHM: "ssh-dss" }, /SSH_HOST_KEY_ALGORITHM/],
        [{ SSH_HOST_KEY_TOFU: "maybe" }, /SSH_HOST_KEY_TOFU/],
        [{ SSH_MAX_CHANNELS: "1" }, /SSH_MAX_CHANNELS: "expected an integer 2\.\.64, got "1""/],
        [{ SSH_CONNECT_TIMEOUT_MS: "-5" }, /SSH_CONNECT_TIMEOUT_MS/],
        [{ SSH_KEEPALIVE_MS: "1.5" }, /SSH_KEEPALIVE_MS/],
        [{ SSH_COMMAND_TIMEOUT_GRACE_MS: "lots" }, /SSH_COMMAND_TIMEOUT_GRACE_MS/],
        [{ SSH_RECONNECT_DELAY_MS: "9999999" }, /SSH_RECONNECT_DELAY_MS/],
        [{ MCP_NODE_TEMP_DIR: "tmp" }, /MCP_NODE_TEMP_DIR/],
        [{ MCP_EXEC_OUTPUT_MAX_BYTES: "0" }, /MCP_EXEC_OUTPUT_MAX_BYTES/],
        [{ SSH_USER: "root; reboot" }, /SSH_USER/]
      ]
      for (const [override, pattern] of cases) {
        expect(yield* failureText({ ...base, ...override })).toMatch(pattern)
      }
      const { SSH_KEY_PATH: _k, ...noKey } = base
      expect(yield* failureText(noKey)).toMatch(/SSH_KEY_PATH/)
      expect(yield* failureText({ ...base, SSH_KEY_PATH: " " })).toMatch(/SSH_KEY_PATH/)
      const blanks = yield* load({ ...base, SSH_USER: "", SSH_HOST_KEY_FINGERPRINT: " ", MCP_NODE_TEMP_DIR: "" })
      expect(blanks).toMatchObject({ user: "root", nodeTempDir: "/tmp" })
      expect(blanks.hostKeyFingerprint).toBeUndefined()
    }))

  it.effect("layerConfig stops startup without a pin unless TOFU is on", () =>
    Effect.gen(function*() {
      const { SSH_HOST_KEY_FINGERPRINT: _f, ...unpinned } = base
      const provider = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)))
      const refused = yield* Layer.build(Ssh.layerConfig).pipe(
        Effect.scoped,
        Effect.withConfigProvider(provider(unpinned)),
        Effect.flip
      )
      expect(refused._tag).toBe("SshTrustUnavailable")
      expect(String(refused.message)).toContain("SSH_HOST_KEY_TOFU is off")
      // TOFU on with an empty store starts (the connection opens lazily).
      const ok = yield* Layer.build(Ssh.layerConfig).pipe(
        Effect.flatMap((ctx) => Effect.succeed(ctx)),
        Effect.scoped,
        Effect.withConfigProvider(provider({ ...unpinned, SSH_HOST_KEY_TOFU: "true", SSH_KNOWN_HOSTS_PATH: "/nonexistent-dir/kh.json" })),
        Effect.either
      )
      expect(ok._tag).toBe("Right")
    }))
})
