import { useEffect, useState } from 'react'

// A tiny history router: the server answers every UI path with index.html.

export function navigate(to: string) {
  if (to === location.pathname + location.search) return
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
