import { useEffect, useState, type FormEvent, type ReactElement } from 'react'
import { ApiError, api, get, post } from './api'
import { navigate, useLocation } from './router'
import { ErrorBox, Link, Loading } from './components/ui'
import { Overview } from './pages/Overview'
import { Decisions } from './pages/Decisions'
import { Policy } from './pages/Policy'
import { Revisions } from './pages/Revisions'
import { Playground } from './pages/Playground'
import { Audit } from './pages/Audit'
import { Settings } from './pages/Settings'
import { Coverage } from './pages/Coverage'
import { Access } from './pages/Access'
import { Fleet } from './pages/Fleet'
import { Schedules } from './pages/Schedules'
import { Shadow } from './pages/Shadow'
import { Rollouts } from './pages/Rollouts'

export interface Me { user: string; roles: string[] }

const rank: Record<string, number> = { viewer: 1, editor: 2, publisher: 3, admin: 4 }

// can reports whether me holds a role that includes role
// (admin ⊇ publisher ⊇ editor ⊇ viewer).
export function can(me: Me, role: string): boolean {
  return me.roles.some((r) => (rank[r] ?? 0) >= rank[role])
}

const pages: { path: string; title: string; role: string; page: (me: Me) => ReactElement }[] = [
  { path: '/', title: 'Overview', role: 'viewer', page: () => <Overview /> },
  { path: '/decisions', title: 'Decisions', role: 'viewer', page: () => <Decisions /> },
  { path: '/policy', title: 'Policy', role: 'viewer', page: (me) => <Policy me={me} /> },
  { path: '/revisions', title: 'Revisions', role: 'viewer', page: (me) => <Revisions me={me} /> },
  { path: '/schedules', title: 'Schedules', role: 'viewer', page: (me) => <Schedules me={me} /> },
  { path: '/shadow', title: 'Shadow', role: 'viewer', page: () => <Shadow /> },
  { path: '/rollouts', title: 'Rollouts', role: 'viewer', page: (me) => <Rollouts me={me} /> },
  { path: '/playground', title: 'Playground', role: 'viewer', page: () => <Playground /> },
  { path: '/coverage', title: 'Coverage', role: 'viewer', page: () => <Coverage /> },
  { path: '/fleet', title: 'Fleet', role: 'viewer', page: () => <Fleet /> },
  { path: '/audit', title: 'Audit trail', role: 'viewer', page: () => <Audit /> },
  { path: '/settings', title: 'Settings', role: 'viewer', page: (me) => <Settings me={me} /> },
  { path: '/access', title: 'Access', role: 'admin', page: (me) => <Access me={me} /> },
]

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const [error, setError] = useState<Error>()
  const { path } = useLocation()

  useEffect(() => {
    get<Me>('/admin/v1/session').then(setMe, (e: ApiError) => (e.status === 401 ? setMe(null) : setError(e)))
    const out = () => setMe(null)
    window.addEventListener('signalgate:signed-out', out)
    return () => window.removeEventListener('signalgate:signed-out', out)
  }, [])

  if (error) return <main><ErrorBox error={error} /></main>
  if (me === undefined) return <main><Loading what="signalgate" /></main>
  if (me === null) return <Login onIn={setMe} />

  const visible = pages.filter((p) => can(me, p.role))
  const current = visible.find((p) => p.path === path) ?? (path === '/' ? visible[0] : undefined)
  return (
    <>
      <header>
        <span className="brand">signalgate</span>
        <nav aria-label="Main">
          {visible.map((p) => (
            <Link key={p.path} to={p.path} className={p === current ? 'current' : undefined}>
              {p.title}
            </Link>
          ))}
        </nav>
        <span className="who">
          <span aria-label="Signed in as">{me.user}</span>{' '}
          <button
            onClick={async () => {
              await api('POST', '/admin/v1/logout').catch(() => undefined)
              setMe(null)
              navigate('/')
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{current ? current.page(me) : <p role="alert">No page here. <Link to="/">Go to the overview</Link>.</p>}</main>
    </>
  )
}

function Login({ onIn }: { onIn: (me: Me) => void }) {
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      onIn(await post<Me>('/admin/v1/login', { user, password }))
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="login">
      <h1>signalgate</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          User <input autoFocus autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} required />
        </label>
        <label>
          Password <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  )
}
