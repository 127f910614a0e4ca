// Root Jest config: one project per workspace project that has a jest.config.js.
const { getJestProjectsAsync } = require('@nx/jest');

module.exports = async () => ({ projects: await getJestProjectsAsync() });
