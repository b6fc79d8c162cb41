/**
 * Where the console keeps the token a person typed (localStorage of this origin). The documentation pages
 * read it from there to send it as a header: no token ever travels in a URL.
 */
export const tokenStorageKey = 'agent-gateway.token'

/** What the interceptor uses of the page. */
interface DocsPage {
  localStorage?: { getItem(key: string): string | null }
  location?: { href: string; origin: string }
}

/**
 * Swagger UI's request interceptor (serialized into its page by @fastify/swagger-ui): adds the saved token to
 * the spec download and to every "Try it out" call, only those to the gateway's own origin: a document or a
 * server entry that names another URL (Swagger UI fetches what a `$ref` or the URL box names) gets no token.
 */
export function swaggerRequestInterceptor(request: { url?: string; headers: Record<string, string> }) {
  // Self-contained: this function runs in the page, where nothing else of this module exists
  // (tokenStorageKey is spelled out).
  const page = globalThis as unknown as DocsPage
  const location = page.location
  let sameOrigin = false
  try {
    sameOrigin =
      location !== undefined && new URL(request.url ?? '', location.href).origin === location.origin
  } catch {
    // not a URL: no token
  }
  if (!sameOrigin) return request
  const token = page.localStorage?.getItem('agent-gateway.token')
  if (token && !request.headers.Authorization) request.headers.Authorization = `Bearer ${token}`
  return request
}
