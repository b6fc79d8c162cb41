import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { LaunchSpec } from '../../process/runner.js'

/** Where Linux distributions keep the system trust store as one PEM file (Debian/Ubuntu/Alpine, RHEL/Fedora, SUSE). */
const systemBundles = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
]

/** Where the system keeps each trusted certificate as a file of its own, named by subject hash (`openssl rehash`). */
const systemHashDirs = ['/etc/ssl/certs', '/etc/pki/ca-trust/extracted/pem/directory-hash']

/**
 * `CODEX_CA_CERTIFICATE` for a codex process on Linux whose server environment chose no trust store of its own
 * (CODEX_CA_CERTIFICATE, SSL_CERT_FILE, SSL_CERT_DIR): one certificate of the system's own store.
 *
 * codex builds a new HTTP client for every model request. Its builder always loads the system roots
 * (rustls-native-certs: the bundle file and the certificate directory, ~290 entries on Debian, about 6 ms);
 * a custom CA file adds its certificates on top, each parsed once more by OpenSSL (~0.17 ms each), and with no
 * custom file at all codex's default client costs more still. Measured per model request of codex-acp on this
 * machine: the system bundle as CODEX_CA_CERTIFICATE ~24 ms of CPU in those OpenSSL parses; one certificate
 * of it instead, nothing worth measuring. Since that certificate is already among the system roots the
 * builder loads, the trust is exactly the system's either way (test/integration/codex-ca-anchor.test.ts shows
 * that a custom file adds to the system roots, it does not replace them). Falls back to the whole bundle
 * where no single-certificate file of the store is found.
 */
export function codexSystemCaEnv(
  serverEnv: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
  exists: (file: string) => boolean = existsSync,
  anchorOf: (bundle: string) => string | null = systemAnchor,
): Record<string, string> {
  if (platform !== 'linux') return {}
  if (serverEnv.CODEX_CA_CERTIFICATE || serverEnv.SSL_CERT_FILE || serverEnv.SSL_CERT_DIR) return {}
  const bundle = systemBundles.find(exists)
  return bundle ? { CODEX_CA_CERTIFICATE: anchorOf(bundle) ?? bundle } : {}
}

const anchors = new Map<string, string | null>()

/**
 * A file of the system store's hash directory that holds exactly one certificate, and one the system
 * `bundle` holds too (so it is a root the system trusts); null when there is none. Looked up once per bundle,
 * and again when that file is gone.
 */
export function systemAnchor(bundle: string, dirs: readonly string[] = systemHashDirs): string | null {
  const known = anchors.get(bundle)
  // (update-ca-certificates rebuilds the directory: a removed file would fail every model request)
  if (known === null || (known !== undefined && existsSync(known))) return known
  let found: string | null = null
  try {
    const inBundle = readFileSync(bundle, 'utf8').replace(/\s+/g, '')
    for (const dir of dirs) {
      const names = existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{8}\.[0-9]+$/.test(n)) : []
      for (const name of names.sort()) {
        const file = path.join(dir, name)
        const pem = readFileSync(file, 'utf8')
        const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
        if (blocks.length === 1 && inBundle.includes(blocks[0]!.replace(/\s+/g, ''))) {
          found = file
          break
        }
      }
      if (found) break
    }
  } catch {
    found = null
  }
  anchors.set(bundle, found)
  return found
}

/**
 * codexSystemCaEnv for a codex launched on this host; none in a container, where the image has its own trust
 * store at a path the host's need not match.
 */
export function codexHostCaEnv(
  serverEnv: NodeJS.ProcessEnv,
  isolation: LaunchSpec['isolation'],
): Record<string, string> {
  return isolation === 'container' ? {} : codexSystemCaEnv(serverEnv)
}
