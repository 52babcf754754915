import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Console } from './admin';
import { publicPage } from './public-pages';
import './styles.css';

/**
 * One bundle for two kinds of page: the admin console under /console/, and the
 * pages behind the links Gatehouse emails (/invitations/accept, /setup,
 * /reset-password, /sign-in), each reached with `?token=`.
 */
const page = publicPage(location.pathname, new URLSearchParams(location.search));
createRoot(document.getElementById('root')!).render(<StrictMode>{page ?? <Console />}</StrictMode>);
