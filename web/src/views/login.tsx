import { useState } from 'preact/hooks'
import { setToken, token } from '../api.js'

/** Asked when the gateway answers 401: the token is kept in this browser and sent as a header, never in a URL. */
export function LoginView() {
  const [value, setValue] = useState('')
  return (
    <section aria-labelledby="login-title" class="login">
      <h1 id="login-title">Sign in</h1>
      <p>
        This gateway needs an API token (one of its <code>API_TOKENS</code>).
        {token.value && <span class="error-text"> The saved token was refused.</span>}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (value.trim()) setToken(value.trim())
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
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
