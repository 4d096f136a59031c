import './base.css';
import './editor.css';
import './runview.css';
import './automations.css';
import './connections.css';
