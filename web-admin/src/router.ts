import { useEffect, useState } from 'react'

// A tiny history router: the server answers every UI path with index.html.

// guard, when set, is asked before leaving the current page (unsaved edits).
let guard: string | null = null

export function setLeaveGuard(message: string | null) {
  guard = message
}

export function navigate(to: string) {
  if (to === location.pathname + location.search) return
  if (guard && !to.startsWith(location.pathname + '?') && !window.confirm(guard)) return
  guard = null
  history.pushState(null, '', to)
  window.dispatchEvent(new Event('signalgate:navigate'))
}

export function useLocation(): { path: string; search: string } {
  const [loc, setLoc] = useState({ path: location.pathname, search: location.search })
  useEffect(() => {
    const update = () => setLoc({ path: location.pathname, search: location.search })
    window.addEventListener('popstate', update)
    window.addEventListener('signalgate:navigate', update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener('signalgate:navigate', update)
    }
  }, [])
  return loc
}
