import { existsSync } from 'node:fs'
import type { LaunchSpec } from '../../process/runner.js'

/** Where Linux distributions keep the system trust store as one PEM file (Debian/Ubuntu/Alpine, RHEL/Fedora, SUSE). */
const systemBundles = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
]

/**
 * `CODEX_CA_CERTIFICATE` naming the system's own CA bundle file, for a codex process on Linux whose server
 * environment chose no trust store of its own (CODEX_CA_CERTIFICATE, SSL_CERT_FILE, SSL_CERT_DIR).
 *
 * codex builds a new HTTP client for every model request; left to its defaults it loads the system roots
 * from both the bundle file and the certificate directory (~290 entries on Debian), which measured
 * 100-150 ms of every turn on a loaded machine. The bundle file holds the same certificates (the
 * directory's entries are links to them), so the trust is the same and a turn is that much faster.
 */
export function codexSystemCaEnv(
  serverEnv: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
  exists: (file: string) => boolean = existsSync,
): Record<string, string> {
  if (platform !== 'linux') return {}
  if (serverEnv.CODEX_CA_CERTIFICATE || serverEnv.SSL_CERT_FILE || serverEnv.SSL_CERT_DIR) return {}
  const bundle = systemBundles.find(exists)
  return bundle ? { CODEX_CA_CERTIFICATE: bundle } : {}
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
