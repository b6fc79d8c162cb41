/**
 * Where the console keeps the token a person typed (localStorage of this origin). The documentation pages
 * read it from there to send it as a header: no token ever travels in a URL.
 */
export const tokenStorageKey = 'agent-gateway.token'

/**
 * Swagger UI's request interceptor (serialized into its page by @fastify/swagger-ui): adds the saved token to
 * the spec download and to every "Try it out" call.
 */
export function swaggerRequestInterceptor(request: { headers: Record<string, string> }) {
  // tokenStorageKey, spelled out: this function runs in the page, where nothing else of this module exists.
  const page = globalThis as unknown as { localStorage?: { getItem(key: string): string | null } }
  const token = page.localStorage?.getItem('agent-gateway.token')
  if (token && !request.headers.Authorization) request.headers.Authorization = `Bearer ${token}`
  return request
}
