// uPlot and its stylesheet in one module, loaded on demand by UPlotChart: pages without charts
// do not download either (Vite puts both in a chunk of their own).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './charts.css';

export default uPlot;
