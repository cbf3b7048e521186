/** Headers of a JSON GET to the gateway: with a token, `Authorization: Bearer <token>`. */
export function requestHeaders(token: string | undefined): Record<string, string> {
  return token
    ? { accept: 'application/json', authorization: `Bearer ${token}` }
    : { accept: 'application/json' }
}
