import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import { setToken, token } from '../api.js'

/** Asked when the gateway answers 401: the token is kept in this browser and sent as a header, never in a URL. */
export function LoginView() {
  const [value, setValue] = useState('')
  const field = useRef<HTMLInputElement>(null)
  // a token typed and refused: the form comes back (its button gone meanwhile, the focus with it); the field takes
  // the focus again, with the refusal said (an alert) and tied to it; in the same task as the form's render (a layout
  // effect), so no keystroke can come between the form shown and its field focused
  const refused = token.value !== null
  useLayoutEffect(() => {
    if (refused) field.current?.focus()
  }, [])
  return (
    <section aria-labelledby="login-title" class="login">
      <h1 id="login-title">Sign in</h1>
      <p>
        This gateway needs an API token (one of its <code>API_TOKENS</code>).
      </p>
      {refused && (
        <p class="error-text" role="alert" id="token-refused">
          The saved token was refused.
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (value.trim()) setToken(value.trim())
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          ref={field}
          type="password"
          aria-describedby={refused ? 'token-refused' : undefined}
          autocomplete="current-password"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit">Use this token</button>
        </div>
      </form>
    </section>
  )
}
