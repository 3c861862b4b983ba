import { useState, type FormEvent } from 'react'
import { api, get, post } from '../api'
import type { Me } from '../App'
import { ErrorBox, Loading, useLoad, when } from '../components/ui'

interface Token { id: string; name: string; role: string; user: string; hint: string; created_at: string; last_used_at?: string; revoked_at?: string }
interface User { id: number; name: string; roles: string[]; created_at: string; disabled: boolean }
const roles = ['viewer', 'editor', 'publisher', 'admin', 'decider', 'agent']

export function Access({ me }: { me: Me }) {
  const tokens = useLoad(() => get<{ tokens: Token[] }>('/admin/v1/tokens'), [])
  const users = useLoad(() => get<{ users: User[] }>('/admin/v1/users'), [])
  const [error, setError] = useState<Error>()
  const [secret, setSecret] = useState<string>()
  const [tokenName, setTokenName] = useState('')
  const [tokenRole, setTokenRole] = useState('decider')
  const [userName, setUserName] = useState('')
  const [userRole, setUserRole] = useState('viewer')
  const [password, setPassword] = useState('')

  const createToken = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    try {
      const t = await post<{ token: string }>('/admin/v1/tokens', { name: tokenName, role: tokenRole })
      setSecret(t.token)
      setTokenName('')
      tokens.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const createUser = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    try {
      await post('/admin/v1/users', { name: userName, roles: [userRole], password })
      setUserName('')
      setPassword('')
      users.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  return (
    <>
      <h1>Access</h1>
      <p className="muted">Signed in as {me.user}.</p>
      <ErrorBox error={error} />
      <h2>Tokens</h2>
      {secret && (
        <p role="status" className="ok">
          New token, shown once: <code>{secret}</code>
        </p>
      )}
      {tokens.loading && <Loading what="tokens" />}
      <ErrorBox error={tokens.error} />
      <table className="list" aria-label="Tokens">
        <thead>
          <tr><th>Name</th><th>Role</th><th>User</th><th>Token</th><th>Created</th><th>Last used</th><th /></tr>
        </thead>
        <tbody>
          {tokens.data?.tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.user}</td>
              <td><code>{t.hint}</code></td>
              <td>{when(t.created_at)}</td>
              <td>{when(t.last_used_at)}</td>
              <td>
                {t.revoked_at ? (
                  'revoked'
                ) : (
                  <button
                    aria-label={`Revoke ${t.name}`}
                    onClick={async () => {
                      if (!window.confirm(`Revoke the token ${t.name}? It stops working everywhere within a second.`)) return
                      await api('DELETE', `/admin/v1/tokens/${t.id}`).catch(setError)
                      tokens.reload()
                    }}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={createToken} aria-label="New token">
        <label>Token name <input value={tokenName} onChange={(e) => setTokenName(e.target.value)} required /></label>
        <label>
          Role{' '}
          <select value={tokenRole} onChange={(e) => setTokenRole(e.target.value)}>
            {roles.map((r) => <option key={r}>{r}</option>)}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      <h2>Users</h2>
      {users.loading && <Loading what="users" />}
      <ErrorBox error={users.error} />
      <table className="list" aria-label="Users">
        <thead>
          <tr><th>Name</th><th>Roles</th><th>Created</th></tr>
        </thead>
        <tbody>
          {users.data?.users.map((u) => (
            <tr key={u.id}>
              <td>{u.name}{u.disabled && ' (disabled)'}</td>
              <td>{u.roles.join(', ')}</td>
              <td>{when(u.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={createUser} aria-label="New user">
        <label>User name <input value={userName} onChange={(e) => setUserName(e.target.value)} required /></label>
        <label>
          Role{' '}
          <select value={userRole} onChange={(e) => setUserRole(e.target.value)}>
            {roles.slice(0, 4).map((r) => <option key={r}>{r}</option>)}
          </select>
        </label>
        <label>New user's password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={12} autoComplete="new-password" /></label>
        <button type="submit">Create user</button>
      </form>
    </>
  )
}
