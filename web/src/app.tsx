import { needsToken, setToken, token } from './api.js'
import { ApprovalNews } from './components/approval-news.js'
import { SiteHeader } from './components/site-header.js'
import { useFocusOnNavigation } from './focus-on-navigation.js'
import { pendingApprovals, usePendingApprovals } from './pending.js'
import { route } from './router.js'
import { AgentsView } from './views/agents.js'
import { ApprovalsView } from './views/approvals.js'
import { ComposeView } from './views/compose.js'
import { HistoryView } from './views/history.js'
import { LoginView } from './views/login.js'
import { RunView } from './views/run.js'
import { SessionView } from './views/session.js'
import { SessionsView } from './views/sessions.js'

/** The shell: navigation, the token prompt when the API answers 401, and the view the hash names. */
export function App() {
  usePendingApprovals()
  const [section = 'new', id] = route.value
  useFocusOnNavigation(route.value.join('/'), () => document.getElementById('main'))
  const count = pendingApprovals.value.length
  return (
    <>
      {/* a button, not a link to #main: the hash is the route, and #main would open the default view */}
      <button type="button" class="skip link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <SiteHeader
        section={section}
        place={route.value.join('/')}
        count={count}
        links={
          <>
            <a href="/docs">API docs</a>
            <OpenApiDownload />
            {token.value && (
              <button type="button" class="link" onClick={() => setToken(null)}>
                Forget token
              </button>
            )}
          </>
        }
      />
      <main id="main" tabIndex={-1}>
        {!needsToken.value && <ApprovalNews shownSession={section === 'sessions' ? id : undefined} />}
        {needsToken.value ? <LoginView /> : <View section={section} id={id} />}
      </main>
    </>
  )
}

function View({ section, id }: { section: string; id: string | undefined }) {
  switch (section) {
    case 'runs':
      return id ? <RunView key={id} id={id} /> : <HistoryView />
    case 'sessions':
      return id ? <SessionView key={id} id={id} /> : <SessionsView />
    case 'approvals':
      return <ApprovalsView />
    case 'agents':
      return <AgentsView />
    default:
      return <ComposeView />
  }
}

/**
 * /openapi.json with the saved token in a header (a plain link could not send it when API_TOKENS is set):
 * fetched, then saved as a file.
 */
function OpenApiDownload() {
  const download = async () => {
    const headers: Record<string, string> = token.value ? { authorization: `Bearer ${token.value}` } : {}
    const res = await fetch('/openapi.json', { headers })
    if (res.status === 401) needsToken.value = true
    if (!res.ok) return
    const url = URL.createObjectURL(await res.blob())
    const a = Object.assign(document.createElement('a'), { href: url, download: 'openapi.json' })
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
  return (
    <button type="button" class="link" onClick={() => void download()}>
      OpenAPI
    </button>
  )
}
